"""Ed25519 keys that sign integrity checkpoints: OKRGOV_SIGNING_KEY (the base64 of the
32-byte private key), or one generated on a store's first start and kept in
``data_dir/signing_key``. Only the public half is needed to verify; the store records it
(``events.signing_keys``) and names it by its ``fingerprint``.

Keep the key away from the database: whoever can rewrite the events table and also holds
this key could re-sign a rewritten history."""

import base64
import binascii
import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

KEY_FILE = "signing_key"


class InvalidSigningKey(ValueError):
    """OKRGOV_SIGNING_KEY (or the key file) is not a base64 Ed25519 private key."""


def fingerprint(public_key: bytes) -> str:
    """The name of a public key: the SHA-256 of its 32 raw bytes, in hex (64 digits)."""
    return hashlib.sha256(public_key).hexdigest()


def key_id(public_key: bytes) -> str:
    """A short name for a public key: the first 8 bytes of its SHA-256, in hex (the first
    16 digits of its ``fingerprint``; what a checkpoint names its key by)."""
    return fingerprint(public_key)[:16]


def parse_public_key(encoded: str) -> bytes:
    """The raw 32 bytes of a base64 Ed25519 public key; ValueError if it is not one."""
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
        Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not the base64 of a 32-byte Ed25519 public key") from exc
    return raw


class Signer:
    """Signs with one Ed25519 private key; names it by ``key_id``."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id(self.public_key)
        self.fingerprint = fingerprint(self.public_key)

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_key).decode()

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    def verify(self, message: bytes, signature: bytes) -> bool:
        return verify_signature(self.public_key, message, signature)


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_private_key(encoded: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSigningKey(
            "OKRGOV_SIGNING_KEY must be the base64 of a 32-byte Ed25519 private key"
        ) from exc


def encode_private_key(private_key: Ed25519PrivateKey) -> str:
    raw = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode()


def key_source(configured: str | None, data_dir: Path) -> str:
    """Where this process's signing key comes from, as an operator would look for it."""
    return "OKRGOV_SIGNING_KEY" if configured else str(data_dir / KEY_FILE)


def load_signer(configured: str | None, data_dir: Path) -> Signer | None:
    """The configured key, or the one kept in data_dir; None when there is neither (no
    key is generated)."""
    if configured:
        return Signer(parse_private_key(configured))
    path = data_dir / KEY_FILE
    if path.exists():
        return Signer(parse_private_key(path.read_text()))
    return None


def load_or_create_signer(configured: str | None, data_dir: Path) -> Signer:
    """The configured key, or one generated on first run and kept in data_dir."""
    found = load_signer(configured, data_dir)
    if found is not None:
        return found
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    private_key = Ed25519PrivateKey.generate()
    # Written whole to a private file, then linked into place, which fails if the key
    # exists: two processes starting together both end up with the first one's key.
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".signing_key.")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(encode_private_key(private_key))
        os.link(tmp, path)
    except FileExistsError:
        return Signer(parse_private_key(path.read_text()))
    finally:
        os.unlink(tmp)
    return Signer(private_key)
