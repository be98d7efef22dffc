"""The private key a process signs checkpoints with, and only if the store knows it.

A process that signs (``okrgov serve``, ``okrgov projections run``, ``okrgov checkpoint``)
first asks the store for its keys. A store with none gets this process's key as its first
(the genesis, recorded as ``SigningKeys.Introduced``; the key is generated into the data
directory when none is configured). A store with keys is signed for only with one of them:
any other key is refused, naming both fingerprints, and no key is generated. Only the
genesis introduces a key for now; a later, authorised rotation will add others."""

import os
import socket
import sys
from pathlib import Path

import structlog
from eventsourcing.persistence import IntegrityError

from events.provenance import Stamp
from events.signing_keys import SigningKey, SigningKeys
from infra.config import Settings
from infra.logging import current_correlation_id, new_correlation_id
from infra.signing import Signer, key_source, load_or_create_signer, load_signer
from services.application.evidence.checkpoints import VALID, recorded_checkpoints
from services.application.evidence.keyring import Keyring, recorded_keys
from services.application.guard import SYSTEM_ACTOR
from services.application.ledger_base import LedgerBase

log = structlog.get_logger(__name__)

#: sysexits.h EX_CONFIG: what a signing process exits with when its key is refused.
EX_CONFIG = 78


class SigningKeyRefused(RuntimeError):
    """This process's key is not one the store records: it must not sign."""


def store_signer(ledger: LedgerBase, settings: Settings) -> Signer:
    """This process's signer, known to the store (introducing it as the store's first key
    when the store has none); SigningKeyRefused otherwise."""
    keyring = recorded_keys(ledger)
    if keyring.unreadable:
        raise SigningKeyRefused(f"{keyring.describe()}: run okrgov verify")
    source = key_source(settings.signing_key, settings.data_dir)
    if not keyring.keys:
        signer = load_or_create_signer(settings.signing_key, settings.data_dir)
        _introduce_genesis(ledger, signer, source)
        keyring = recorded_keys(ledger)  # ours, or that of a process that started first
    else:
        found = load_signer(settings.signing_key, settings.data_dir)
        if found is None:
            raise SigningKeyRefused(
                f"this process has no signing key (neither OKRGOV_SIGNING_KEY nor {source}), "
                f"and the store signs with key {keyring.describe()}. {_ADVICE}"
            )
        signer = found
    signing = keyring.signing_now()
    if signer.fingerprint not in {k.fingerprint for k in signing}:
        raise SigningKeyRefused(
            f"the signing key of this process ({source}) has fingerprint "
            f"{signer.fingerprint}, but this store signs with key {keyring.describe()}: "
            f"refusing to sign checkpoints the store cannot verify. {_ADVICE}"
        )
    log.info("integrity.signing_key", fingerprint=signer.fingerprint, source=source)
    return signer


_ADVICE = (
    "Set OKRGOV_SIGNING_KEY to the store's key (the private key every okrgov process of this "
    "store shares), or OKRGOV_CHECKPOINT_EVERY=0 to run without signing. A store takes a "
    "new key only through a recorded rotation, not by starting a process with it."
)


def _introduce_genesis(ledger: LedgerBase, signer: Signer, source: str) -> None:
    """Record ``signer``'s public key as the store's first; a process that got there
    first wins (the keyring has one fixed id), and this one then finds its key."""
    _require_signed_history(ledger, signer)
    process = f"{Path(sys.argv[0]).name} {' '.join(sys.argv[1:2])}".strip()
    reason = (
        f"the store's first signing key, introduced at its first start by {process} "
        f"(pid {os.getpid()} on {socket.gethostname()}, key from {source})"
    )
    stamp = Stamp(SYSTEM_ACTOR, current_correlation_id() or new_correlation_id())
    try:
        recorded = ledger.record(
            SigningKeys.genesis(signer.fingerprint, signer.public_key_b64, stamp, reason)
        )
    except IntegrityError:
        return
    log.warning(
        "integrity.signing_key_introduced",
        fingerprint=signer.fingerprint,
        position=recorded.position,
        advice="keep this fingerprint outside the database and verify with "
        "okrgov verify --trusted-key FINGERPRINT",
    )


def _require_signed_history(ledger: LedgerBase, signer: Signer) -> None:
    """A store that has checkpoints from before keys were recorded takes as its first key
    the one that signed the earliest of them, and no other."""
    earliest = next(iter(recorded_checkpoints(ledger, _keyring_of(signer))), None)
    if earliest is None or earliest.status == VALID:
        return
    raise SigningKeyRefused(
        f"this store has checkpoints signed before its keys were recorded; the earliest, at "
        f"position {earliest.position}, was signed by key {earliest.fingerprint or earliest.key_id}"
        f", not by this process's key {signer.fingerprint}. Start once with "
        "OKRGOV_SIGNING_KEY set to the key that signed it, so that the store records it."
    )


def _keyring_of(signer: Signer) -> Keyring:
    """A keyring of one key, valid from the store's beginning: to judge old checkpoints."""
    key = SigningKey(signer.fingerprint, signer.public_key_b64, 0, None, SYSTEM_ACTOR, None)
    return Keyring((key,))
