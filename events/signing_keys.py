"""The public keys that sign this store's checkpoints, recorded in the store itself, each
with the store position after which it signs (and, once a later rotation retires it, up
to which). Verifying a checkpoint needs these public keys only, never a private key.

A store has one keyring, under a fixed id: its first key (the genesis) is introduced when
the store first starts signing, and two processes starting together cannot both introduce
one (the second finds the first's key and must use it). A key is named by its fingerprint,
the SHA-256 of its 32 raw public bytes, in hex; checkpoints name it by the first 16 digits
(their ``key_id``)."""

import re
from dataclasses import dataclass
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import event

from events.errors import InvalidValue
from events.provenance import GovernedAggregate, Stamp

#: The one keyring of a store.
KEYRING_ID = uuid5(NAMESPACE_URL, "okrgov:signing-keys")
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


def is_fingerprint(text: str) -> bool:
    """A key's fingerprint: 64 lower-case hex digits."""
    return bool(_FINGERPRINT.match(text))


@dataclass(frozen=True)
class SigningKey:
    """One recorded public key and when it signs."""

    fingerprint: str
    public_key: str
    """Base64 of the 32 raw Ed25519 public key bytes."""
    valid_after: int
    """It signs checkpoints recorded after this store position (the genesis key: 0)."""
    valid_until: int | None
    """The last position at which it signs (None: it still signs; set by a retirement)."""
    introduced_by: str
    reason: str | None

    @property
    def key_id(self) -> str:
        return self.fingerprint[:16]

    def names(self, key_id: str) -> bool:
        """Whether a checkpoint's ``key_id`` (16 digits at least) names this key."""
        return len(key_id) >= 16 and self.fingerprint.startswith(key_id)

    def signs_at(self, position: int) -> bool:
        """Whether a checkpoint recorded at ``position`` may be signed by this key."""
        return self.valid_after < position and (
            self.valid_until is None or position <= self.valid_until
        )


class SigningKeys(GovernedAggregate):
    """The keyring of a store: the public keys its checkpoints are verified with."""

    class Introduced(GovernedAggregate.Created):
        """The store's first key (a later rotation adds keys, and retires them, with
        events of its own)."""

        fingerprint: str
        public_key: str
        valid_after: int

    @classmethod
    def genesis(cls, fingerprint: str, public_key: str, stamp: Stamp, reason: str) -> "SigningKeys":
        """The keyring of a store that has none, with its first key, valid from the
        store's beginning (it also vouches for checkpoints recorded before keys were)."""
        if not is_fingerprint(fingerprint):
            raise InvalidValue("a key's fingerprint is 64 hex digits", field="fingerprint")
        return cls._create(
            cls.Introduced,
            id=KEYRING_ID,
            fingerprint=fingerprint,
            public_key=public_key,
            valid_after=0,
            **stamp.fields(reason),
        )

    @event(Introduced)
    def __init__(
        self,
        fingerprint: str,
        public_key: str,
        valid_after: int,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.keys = [SigningKey(fingerprint, public_key, valid_after, None, actor, reason)]

    @property
    def genesis_key(self) -> SigningKey:
        return self.keys[0]
