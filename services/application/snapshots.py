"""Quarter-end snapshots on the ledger: seal a closed cycle (record the snapshot's position
and digest as an event, with its guardrail decision), read a cycle as of any position or
time, and verify a seal by re-deriving the snapshot from the events."""

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from events import Cycle, CycleState
from events.decision import EventRef
from events.errors import InvalidTransition, InvalidValue, NotFound
from events.values import TargetKind
from projections.snapshot import (
    SNAPSHOT_FORMAT,
    SNAPSHOT_FORMATS,
    CycleNotFound,
    EventNotFound,
    Snapshot,
    position_at,
    snapshot_at,
    snapshot_through,
)
from services.application.guard import Guard
from services.application.ledger_base import LedgerBase, Recorded, retry_on_conflict
from services.application.principals import Principal, Role

AsOf = int | datetime | None
"""A store position, a moment (the last position recorded at or before it), or now."""


@dataclass(frozen=True)
class SealCheck:
    """A sealed snapshot re-derived from the events, and whether its digest still matches."""

    cycle_id: UUID
    position: int
    """Where the sealed snapshot was re-derived in this store."""
    sealed_position: int
    sealed_digest: str
    recomputed_digest: str
    snapshot_format: str
    sealed_by: str | None

    @property
    def matches(self) -> bool:
        return self.sealed_digest == self.recomputed_digest


@dataclass(frozen=True)
class Seal:
    """A cycle's seal, from its seal event: what was sealed, by whom and when. It is about
    a snapshot, not in one (a document cannot hold its own digest), so a report shows it
    beside the snapshot it renders."""

    position: int
    digest: str
    snapshot_format: str
    sealed_by: str
    sealed_at: datetime


class SnapshotCommands:
    """Seal, snapshot and verify; the snapshot itself is computed in ``projections``."""

    def __init__(self, store: LedgerBase, guard: Guard) -> None:
        self.store = store
        self.guard = guard

    @retry_on_conflict
    def seal_cycle(self, principal: Principal, cycle_id: UUID) -> Recorded:
        """Compute the cycle's snapshot at the current end of the store and record its
        position and digest; only a closed cycle, and only once."""
        principal.require(Role.EXECUTIVE, Role.ADMIN, to="seal a cycle")
        store = self.store
        cycle = store.load(Cycle, cycle_id)
        cycle.require_sealable()  # refuse before reading the whole log for nothing
        allowed = self.guard.check(
            store, principal, "cycle.seal", TargetKind.CYCLE, cycle.id, None, None, cycle=cycle
        )
        # The snapshot covers every event recorded so far; anything recorded between here
        # and the save below is after its position, so it cannot change what was sealed.
        position = store.recorder.max_notification_id() or 0
        snapshot = snapshot_at(store.recorder, store.mapper, cycle.id, position)
        assert snapshot.through is not None  # the cycle's own events were read
        through = (snapshot.through.originator_id, snapshot.through.originator_version)
        stamp = store.stamp(principal)
        cycle.seal(position, snapshot.digest, SNAPSHOT_FORMAT, through, stamp)
        return self.guard.commit(store, allowed, stamp, cycle)

    def snapshot(self, principal: Principal, cycle_id: UUID, as_of: AsOf = None) -> Snapshot:
        """The cycle as it stood at a position or moment (default: now)."""
        _require_reader(principal)
        cycle = self.store.load(Cycle, cycle_id, to_change=False)
        position = self._position(as_of)
        try:
            return snapshot_at(self.store.recorder, self.store.mapper, cycle.id, position)
        except CycleNotFound:
            raise NotFound("cycle", f"{cycle.id} as of position {position}") from None

    def seal_of(self, principal: Principal, cycle_id: UUID) -> Seal | None:
        """The cycle's seal, read from its seal event; None when it is not sealed."""
        _require_reader(principal)
        cycle = self.store.load(Cycle, cycle_id, to_change=False)
        if cycle.state != CycleState.SEALED:
            return None
        sealed = next(
            e for e in self.store.events.get(cycle.id, desc=True) if isinstance(e, Cycle.Sealed)
        )
        return Seal(sealed.position, sealed.digest, sealed.snapshot_format, sealed.actor,
                    sealed.timestamp)  # fmt: skip

    def verify_seal(self, principal: Principal, cycle_id: UUID) -> SealCheck:
        """Re-derive the sealed snapshot from the events and compare the digests.

        The snapshot is re-derived up to the last event the seal read, found by its
        aggregate and version, so a seal also verifies in a copy of the store whose
        positions are numbered differently; if that event is gone, up to the sealed
        position."""
        _require_reader(principal)
        store = self.store
        cycle = store.load(Cycle, cycle_id, to_change=False)
        cycle.require_sealed()
        assert cycle.sealed_position is not None and cycle.sealed_digest is not None
        assert cycle.sealed_through is not None
        sealed_as = cycle.sealed_format
        if sealed_as is None or sealed_as not in SNAPSHOT_FORMATS:
            raise InvalidTransition(
                f"cycle {cycle.name} was sealed as {sealed_as}; this version of okrgov "
                f"derives {', '.join(sorted(SNAPSHOT_FORMATS))} only"
            )
        # Re-derived in the format it was sealed in: a seal made before a new format verifies.
        through = EventRef(*cycle.sealed_through)
        try:
            recomputed = snapshot_through(
                store.recorder, store.mapper, cycle.id, through, snapshot_format=sealed_as
            )
        except EventNotFound:
            recomputed = snapshot_at(
                store.recorder, store.mapper, cycle.id, cycle.sealed_position,
                snapshot_format=sealed_as,
            )  # fmt: skip
        return SealCheck(
            cycle.id,
            recomputed.position,
            cycle.sealed_position,
            cycle.sealed_digest,
            recomputed.digest,
            sealed_as,
            cycle.sealed_by,
        )

    def _position(self, as_of: AsOf) -> int:
        last = self.store.recorder.max_notification_id() or 0
        if as_of is None:
            return last
        if isinstance(as_of, datetime):
            moment = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)  # naive: UTC
            return position_at(self.store.recorder, self.store.mapper, moment)
        if as_of < 1:
            raise InvalidValue("positions start at 1", field="as_of")
        if as_of > last:
            raise InvalidValue(
                f"no event has been recorded at position {as_of} yet (the last is {last})",
                field="as_of",
            )
        return as_of


def _require_reader(principal: Principal) -> None:
    """Every role reads snapshots (compliance included); a token without roles does not."""
    principal.require_reader()
