"""A signed checkpoint of the event store's Merkle tree: how many events it covered, the
position of the last one, the tree's root hash, when it was signed and by which key.

Recorded in the store it vouches for, so the evidence travels with the history; a
checkpoint proves something only with a signature that verifies under the key the store
records for it (``events.signing_keys``).

A checkpoint that does not verify (a process that signed with a key of its own) stays in
the store: nothing is deleted. It can be repudiated instead, four eyes: one person asks
with a reason, another approves (or rejects); verification then reports it as repudiated,
with who and why, and no longer fails on it."""

from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import event

from events.errors import InvalidTransition, ReasonRequired, SelfApproval
from events.provenance import GovernedAggregate, Stamp


class RepudiationState(StrEnum):
    REQUESTED = "requested"
    REPUDIATED = "repudiated"
    REJECTED = "rejected"


class CheckpointVerifies(InvalidTransition):
    """Only a checkpoint that does not verify under the store's keys is repudiated."""

    rule = "checkpoint_verifies"


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

    class RepudiationRequested(GovernedAggregate.Event):
        """Someone asks that this checkpoint be disowned; ``reason`` says why."""

    class Repudiated(GovernedAggregate.Event):
        """Someone else approved: the checkpoint is not the store's."""

    class RepudiationRejected(GovernedAggregate.Event):
        """Someone else refused; a new request may follow."""

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
        self.repudiation: RepudiationState | None = None
        self.repudiation_requested_by: str | None = None
        self.repudiation_decided_by: str | None = None

    # ---- repudiation (four eyes) -------------------------------------------------------

    def request_repudiation(self, stamp: Stamp, reason: str | None, *, verifies: bool) -> None:
        """Ask to disown this checkpoint; ``verifies``: whether it verifies under the
        store's keys (then it is the store's own, and is not disowned)."""
        if verifies:
            raise CheckpointVerifies(
                "this checkpoint verifies under the store's signing key: only a checkpoint "
                "that does not verify can be repudiated"
            )
        if not reason or not reason.strip():
            raise ReasonRequired("a repudiation needs a reason: why is this not the store's?")
        if self.repudiation == RepudiationState.REQUESTED:
            raise InvalidTransition("a repudiation of this checkpoint is awaiting approval")
        if self.repudiation == RepudiationState.REPUDIATED:
            raise InvalidTransition("this checkpoint is already repudiated")
        self._repudiation_requested(**stamp.fields(reason.strip()))

    def approve_repudiation(self, stamp: Stamp, reason: str | None = None) -> None:
        self._require_requested(stamp, "approve")
        self._repudiated(**stamp.fields(reason))

    def reject_repudiation(self, stamp: Stamp, reason: str | None = None) -> None:
        self._require_requested(stamp, "reject")
        self._repudiation_rejected(**stamp.fields(reason))

    def _require_requested(self, stamp: Stamp, verb: str) -> None:
        if self.repudiation != RepudiationState.REQUESTED:
            state = self.repudiation.value if self.repudiation else "never requested"
            raise InvalidTransition(
                f"no repudiation of this checkpoint awaits a decision ({state})"
            )
        if stamp.actor == self.repudiation_requested_by:
            raise SelfApproval(f"the requester of a repudiation cannot {verb} it")

    @event(RepudiationRequested)
    def _repudiation_requested(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.repudiation = RepudiationState.REQUESTED
        self.repudiation_requested_by = actor
        self.repudiation_decided_by = None

    @event(Repudiated)
    def _repudiated(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.repudiation = RepudiationState.REPUDIATED
        self.repudiation_decided_by = actor

    @event(RepudiationRejected)
    def _repudiation_rejected(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.repudiation = RepudiationState.REJECTED
        self.repudiation_decided_by = actor
