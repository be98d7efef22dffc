"""The public keys a store records for its checkpoints (``events.signing_keys``), read
back for verification: public keys only, nothing here touches a private key."""

from dataclasses import dataclass

import structlog
from eventsourcing.application import AggregateNotFoundError

from events.signing_keys import KEYRING_ID, SigningKey, SigningKeys
from services.application.ledger_base import LedgerBase

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Keyring:
    """The recorded keys of a store, first (genesis) first."""

    keys: tuple[SigningKey, ...] = ()
    unreadable: str | None = None
    """Why the recorded keys could not be read (None: they could)."""

    @property
    def genesis(self) -> SigningKey | None:
        return self.keys[0] if self.keys else None

    def named(self, key_id: str) -> SigningKey | None:
        """The recorded key a checkpoint's ``key_id`` names, whenever it signs."""
        return next((k for k in self.keys if k.names(key_id)), None)

    def signing_at(self, key_id: str, position: int) -> SigningKey | None:
        """The recorded key named ``key_id`` if it signs at ``position``."""
        key = self.named(key_id)
        return key if key is not None and key.signs_at(position) else None

    def signing_now(self) -> tuple[SigningKey, ...]:
        """The keys that sign new checkpoints (not retired)."""
        return tuple(k for k in self.keys if k.valid_until is None)

    def describe(self) -> str:
        """The store's keys as an operator reads them."""
        if self.unreadable:
            return f"the store's signing keys cannot be read ({self.unreadable})"
        if not self.keys:
            return "the store records no signing key yet"
        return ", ".join(k.fingerprint for k in self.signing_now()) or "none signing now"


def recorded_keys(ledger: LedgerBase) -> Keyring:
    """The keys recorded in the store (none for a store that has never signed since
    keys were recorded)."""
    try:
        keyring: object = ledger.repository.get(KEYRING_ID, deepcopy_from_cache=False)
    except AggregateNotFoundError:
        return Keyring()
    except Exception as exc:  # a rewritten row may not even decode
        log.warning("integrity.keyring_unreadable", error=str(exc))
        return Keyring(unreadable=f"{type(exc).__name__}: {exc}")
    if not isinstance(keyring, SigningKeys):
        return Keyring(unreadable=f"the keyring's id holds a {type(keyring).__name__}")
    return Keyring(tuple(keyring.keys))
