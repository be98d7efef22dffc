"""A signed checkpoint of the event store's Merkle tree: how many events it covered, the
position of the last one, the tree's root hash, when it was signed and by which key.

Recorded in the store it vouches for, so the evidence travels with the history; a
checkpoint proves something only with a signature that verifies under the store's key."""

from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import event

from events.provenance import GovernedAggregate, Stamp


def signed_message(tree_size: int, last_position: int, root_hash: str, signed_at: str) -> bytes:
    """The exact bytes a checkpoint's Ed25519 signature covers (UTF-8 lines)."""
    return (
        "okrgov checkpoint v1\n"
        f"tree_size {tree_size}\n"
        f"last_position {last_position}\n"
        f"root {root_hash}\n"
        f"signed_at {signed_at}\n"
    ).encode()


def periodic_id(every: int, slot: int) -> UUID:
    """The id of the periodic checkpoint due after ``slot * every`` events: the same in
    every process, so two followers crossing the same boundary record it only once."""
    return uuid5(NAMESPACE_URL, f"okrgov:checkpoint:every-{every}:{slot}")


class Checkpoint(GovernedAggregate):
    """One signed tree head (RFC 9162 style) of the store's event sequence."""

    class Signed(GovernedAggregate.Created):
        tree_size: int
        last_position: int
        root_hash: str
        signed_at: str
        key_id: str
        public_key: str
        signature: str

    @classmethod
    def sign(
        cls,
        *,
        tree_size: int,
        last_position: int,
        root_hash: str,
        signed_at: str,
        key_id: str,
        public_key: str,
        signature: str,
        stamp: Stamp,
        reason: str,
        checkpoint_id: UUID | None = None,
    ) -> "Checkpoint":
        fields = {
            "tree_size": tree_size,
            "last_position": last_position,
            "root_hash": root_hash,
            "signed_at": signed_at,
            "key_id": key_id,
            "public_key": public_key,
            "signature": signature,
            **stamp.fields(reason),
        }
        return cls._create(cls.Signed, id=checkpoint_id or uuid4(), **fields)

    @event(Signed)
    def __init__(
        self,
        tree_size: int,
        last_position: int,
        root_hash: str,
        signed_at: str,
        key_id: str,
        public_key: str,
        signature: str,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.tree_size = tree_size
        self.last_position = last_position
        self.root_hash = root_hash
        self.signed_at = signed_at
        self.key_id = key_id
        self.public_key = public_key
        self.signature = signature
        self.actor = actor
