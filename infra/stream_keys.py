"""The keys of the event stream: the relay signs each record with the store's signing key
(``infra.signing``); a consumer verifies with public keys only.

``OKRGOV_STREAM_PUBLIC_KEYS`` lists the trusted public keys (base64 of the 32 raw Ed25519
bytes, separated by commas or spaces; more than one while a key is being replaced). Unset,
a consumer trusts the public half of the local signing key (``OKRGOV_SIGNING_KEY``, else
the key file in ``data_dir``); with neither, it has nothing to verify with and says so
rather than generate a key of its own that no record would ever verify under."""

import base64
import binascii
import re

from infra.config import Settings
from infra.signing import KEY_FILE, Signer, key_id, load_or_create_signer, parse_private_key


class NoStreamKeys(ValueError):
    """No public key to verify the stream with, or one that is not a public key."""


def relay_signer(settings: Settings) -> Signer:
    """The key the relay signs records with: the store's signing key (``OKRGOV_SIGNING_KEY``,
    else the key file in ``data_dir``). None is generated: records signed by a key nobody
    trusts would all be quarantined."""
    if not settings.signing_key and not (settings.data_dir / KEY_FILE).exists():
        raise NoStreamKeys(
            "the relay signs every record with the store's signing key: set "
            f"OKRGOV_SIGNING_KEY (or OKRGOV_DATA_DIR to where {KEY_FILE} is)"
        )
    return load_or_create_signer(settings.signing_key, settings.data_dir)


def parse_public_keys(text: str) -> dict[str, bytes]:
    """``key_id`` to raw public key, from base64 keys separated by commas or spaces."""
    keys: dict[str, bytes] = {}
    for item in (part for part in re.split(r"[\s,]+", text) if part):
        try:
            raw = base64.b64decode(item, validate=True)
        except binascii.Error:
            raw = b""
        if len(raw) != 32:
            raise NoStreamKeys(
                f"OKRGOV_STREAM_PUBLIC_KEYS: {item[:60]!r} is not the base64 of a 32-byte "
                "Ed25519 public key"
            )
        keys[key_id(raw)] = raw
    if not keys:
        raise NoStreamKeys("OKRGOV_STREAM_PUBLIC_KEYS is set but names no key")
    return keys


def trusted_keys(settings: Settings) -> dict[str, bytes]:
    """The public keys a consumer accepts signatures of, by ``key_id``."""
    if settings.stream_public_keys:
        return parse_public_keys(settings.stream_public_keys)
    if settings.signing_key:
        signer = Signer(parse_private_key(settings.signing_key))
    elif (settings.data_dir / KEY_FILE).exists():
        signer = load_or_create_signer(None, settings.data_dir)
    else:
        raise NoStreamKeys(
            "no key to verify the event stream with: set OKRGOV_STREAM_PUBLIC_KEYS to the "
            "relay's public key (the relay logs it as relay.started public_key=...)"
        )
    return {signer.key_id: signer.public_key}
