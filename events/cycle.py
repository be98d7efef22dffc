"""A planning cycle (normally a quarter): planning, then locked, then closed, then sealed."""

from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.domain import event

from events import clock
from events.errors import (
    CycleClosed,
    CycleLocked,
    InvalidTransition,
    InvalidValue,
    NotSealed,
    ReasonRequired,
    Remedy,
)
from events.provenance import GovernedAggregate, Stamp
from events.values import ENDED_STATES, ChangeKind, CycleState, TargetKind

if TYPE_CHECKING:
    from events.change_request import ChangeRequest


class Cycle(GovernedAggregate):
    """The period whose objectives are planned, locked, checked in on and scored."""

    class Created(GovernedAggregate.Created):
        name: str
        starts_on: str
        ends_on: str

    class ObjectiveRegistered(GovernedAggregate.Event):
        objective_id: UUID

    class AlignmentRecorded(GovernedAggregate.Event):
        objective_id: UUID
        parent_id: UUID | None

    class Locked(GovernedAggregate.Event):
        pass

    class Closed(GovernedAggregate.Event):
        pass

    class Sealed(GovernedAggregate.Event):
        """The quarter-end snapshot: the store position it was computed at, the SHA-256
        digest of its canonical JSON, the snapshot format that digest is over, and the
        last event it read (which finds the same point in a copy of the store that numbers
        positions differently)."""

        position: int
        digest: str
        snapshot_format: str
        through_id: UUID
        through_version: int

    @classmethod
    def open(cls, name: str, starts_on: date, ends_on: date, stamp: Stamp) -> "Cycle":
        if not name.strip():
            raise InvalidValue("a cycle needs a name", field="name")
        if ends_on <= starts_on:
            raise InvalidValue("a cycle must end after it starts", field="ends_on")
        return cls(
            name=name.strip(),
            starts_on=starts_on.isoformat(),
            ends_on=ends_on.isoformat(),
            **stamp.fields(),
        )

    @event(Created)
    def __init__(
        self,
        name: str,
        starts_on: str,
        ends_on: str,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.name = name
        self.starts_on = date.fromisoformat(starts_on)
        self.ends_on = date.fromisoformat(ends_on)
        self.state = CycleState.PLANNING
        self.objective_ids: list[UUID] = []
        self.sealed_position: int | None = None
        self.sealed_digest: str | None = None
        self.sealed_format: str | None = None
        self.sealed_through: tuple[UUID, int] | None = None
        self.sealed_by: str | None = None

    def register_objective(
        self, objective_id: UUID, stamp: Stamp, change_request: "ChangeRequest | None" = None
    ) -> None:
        """Objectives join while planning; after lock only through an approved request to
        add an objective to this cycle."""
        if self.state == CycleState.LOCKED and change_request is not None:
            change_request.require_approved_for(ChangeKind.ADD_OBJECTIVE, TargetKind.CYCLE, self.id)
        else:
            self.require_planning(
                "ask for a new objective with a change request", Remedy.CHANGE_REQUEST
            )
        self._objective_registered(objective_id=objective_id, **stamp.fields())

    def record_alignment(self, objective_id: UUID, parent_id: UUID | None, stamp: Stamp) -> None:
        """Note an objective's new place in the alignment tree of this cycle."""
        self.require_open()
        self._alignment_recorded(objective_id=objective_id, parent_id=parent_id, **stamp.fields())

    def require_planning(self, why: str, remedy: Remedy | None = None) -> None:
        """Definitions (objectives, key results) may only be added while planning; ``why``
        ends the refusal after lock, advising ``remedy`` if given."""
        if self.state in ENDED_STATES:
            raise CycleClosed(f"cycle {self.name} is {self.state}")
        if self.state == CycleState.LOCKED:
            raise CycleLocked(f"cycle {self.name} is locked: {why}", remedy=remedy)

    def require_open(self) -> None:
        if self.state in ENDED_STATES:
            raise CycleClosed(f"cycle {self.name} is {self.state}")

    def lock(self, stamp: Stamp) -> None:
        if self.state != CycleState.PLANNING:
            raise InvalidTransition(f"only a cycle in planning can be locked, not {self.state}")
        self._locked(**stamp.fields())

    def close(self, stamp: Stamp, reason: str | None = None) -> None:
        """Close a locked cycle. Before its end date (``events.clock.today()`` earlier
        than ``ends_on``) only with a reason, which the event records (as it does one
        given at or after the end)."""
        if self.state != CycleState.LOCKED:
            raise InvalidTransition(f"only a locked cycle can be closed, not {self.state}")
        reason = reason.strip() if reason is not None else None
        if not reason and clock.today() < self.ends_on:
            raise ReasonRequired(
                f"closing before the cycle's end date ({self.ends_on.isoformat()}) needs a "
                f"reason: today is {clock.today().isoformat()}; say why it closes early"
            )
        self._closed(**stamp.fields(reason or None))

    def require_sealable(self) -> None:
        """A cycle is sealed once, after it was closed and scored."""
        if self.state == CycleState.SEALED:
            raise InvalidTransition(f"cycle {self.name} is already sealed")
        if self.state != CycleState.CLOSED:
            raise InvalidTransition(f"only a closed cycle can be sealed, not a {self.state} one")

    def seal(
        self,
        position: int,
        digest: str,
        snapshot_format: str,
        through: tuple[UUID, int],
        stamp: Stamp,
    ) -> None:
        """Record the quarter-end snapshot's position and digest."""
        self.require_sealable()
        self._sealed(
            position=position,
            digest=digest,
            snapshot_format=snapshot_format,
            through_id=through[0],
            through_version=through[1],
            **stamp.fields(),
        )

    def require_sealed(self) -> None:
        if self.state != CycleState.SEALED:
            raise NotSealed(f"cycle {self.name} is {self.state}, not sealed: nothing to verify")

    @event(ObjectiveRegistered)
    def _objective_registered(
        self, objective_id: UUID, actor: str, correlation_id: str, reason: str | None
    ) -> None:
        self.objective_ids.append(objective_id)

    @event(AlignmentRecorded)
    def _alignment_recorded(
        self,
        objective_id: UUID,
        parent_id: UUID | None,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        pass  # the tree lives on the objectives; this event orders realignments in a cycle

    @event(Locked)
    def _locked(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.state = CycleState.LOCKED

    @event(Closed)
    def _closed(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.state = CycleState.CLOSED

    @event(Sealed)
    def _sealed(
        self,
        position: int,
        digest: str,
        snapshot_format: str,
        through_id: UUID,
        through_version: int,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.state = CycleState.SEALED
        self.sealed_through = (through_id, through_version)
        self.sealed_position = position
        self.sealed_digest = digest
        self.sealed_format = snapshot_format
        self.sealed_by = actor
