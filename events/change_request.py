"""A change request: after its cycle is locked, the only way to change what the cycle
scores (a key result's or an objective's definition, retiring either, adding a key result
or an objective), approved or rejected by someone other than the requester (four eyes)."""

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from events.errors import (
    ChangeNeedsApproval,
    CycleClosed,
    DomainError,
    InvalidTransition,
    InvalidValue,
    Remedy,
    SelfApproval,
)
from events.provenance import GovernedAggregate, Stamp
from events.values import ENDED_STATES, ChangeKind, ChangeRequestStatus, CycleState, TargetKind

#: What each kind of request may target.
_TARGETS = {
    ChangeKind.REVISE: (TargetKind.KEY_RESULT, TargetKind.OBJECTIVE),
    ChangeKind.RETIRE: (TargetKind.KEY_RESULT, TargetKind.OBJECTIVE),
    ChangeKind.ADD_KEY_RESULT: (TargetKind.OBJECTIVE,),
    ChangeKind.ADD_OBJECTIVE: (TargetKind.CYCLE,),
}


class ChangeRequest(GovernedAggregate):
    """A proposed post-lock change with the reason for it."""

    class Requested(GovernedAggregate.Created):
        # Version 2 added the objective; version 3 the kind, the target and the cycle, so
        # that a request can be about an objective or ask for something new.
        class_version = 3

        key_result_id: UUID | None
        """The key result changed (None when the target is not a key result)."""
        changes: dict[str, Any]
        """Fields to change (revise), or the whole definition of what is added."""
        retire: bool
        objective_id: UUID | None
        """The objective concerned: the key result's, the one changed, the one that gets a
        new key result (None for a new objective, and in requests recorded before v2)."""
        kind: str
        target_kind: str
        target_id: UUID
        cycle_id: UUID | None
        """The cycle concerned (None in requests recorded before v3)."""

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.setdefault("objective_id", None)

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["kind"] = ChangeKind.RETIRE.value if state["retire"] else ChangeKind.REVISE.value
            state["target_kind"] = TargetKind.KEY_RESULT.value
            state["target_id"] = state["key_result_id"]
            state["cycle_id"] = None

    class Approved(GovernedAggregate.Event):
        pass

    class Rejected(GovernedAggregate.Event):
        pass

    class Applied(GovernedAggregate.Event):
        pass

    @classmethod
    def request(
        cls,
        key_result_id: UUID,
        changes: dict[str, Any],
        retire: bool,
        reason: str | None,
        stamp: Stamp,
        *,
        objective_id: UUID | None = None,
        cycle_id: UUID | None = None,
    ) -> "ChangeRequest":
        """A request to revise or retire a key result."""
        return cls.about(
            ChangeKind.RETIRE if retire else ChangeKind.REVISE,
            TargetKind.KEY_RESULT,
            key_result_id,
            changes,
            reason,
            stamp,
            objective_id=objective_id,
            cycle_id=cycle_id,
        )

    @classmethod
    def about(
        cls,
        kind: ChangeKind,
        target_kind: TargetKind,
        target_id: UUID,
        changes: dict[str, Any],
        reason: str | None,
        stamp: Stamp,
        *,
        objective_id: UUID | None,
        cycle_id: UUID | None,
    ) -> "ChangeRequest":
        """A request of any kind; the kind decides what it may target and carry."""
        if not reason or not reason.strip():
            raise InvalidValue("a change request needs a reason", field="reason")
        if target_kind not in _TARGETS[kind]:
            raise InvalidValue(f"a {kind} request cannot target a {target_kind}")
        if kind == ChangeKind.RETIRE and changes:
            raise InvalidValue("a request either retires or changes fields", field="changes")
        if kind != ChangeKind.RETIRE and not changes:
            raise InvalidValue("no changes given", field="changes")
        return cls(
            key_result_id=target_id if target_kind == TargetKind.KEY_RESULT else None,
            changes=changes,
            retire=kind == ChangeKind.RETIRE,
            objective_id=objective_id,
            kind=kind.value,
            target_kind=target_kind.value,
            target_id=target_id,
            cycle_id=cycle_id,
            **stamp.fields(reason.strip()),
        )

    @event(Requested)
    def __init__(
        self,
        key_result_id: UUID | None,
        changes: dict[str, Any],
        retire: bool,
        objective_id: UUID | None,
        kind: str,
        target_kind: str,
        target_id: UUID,
        cycle_id: UUID | None,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.key_result_id = key_result_id
        self.objective_id = objective_id
        self.cycle_id = cycle_id
        self.kind = ChangeKind(kind)
        self.target_kind = TargetKind(target_kind)
        self.target_id = target_id
        self.changes = changes
        self.retire = retire
        self.requester = actor
        self.reason = reason
        self.status = ChangeRequestStatus.PENDING
        self.decided_by: str | None = None

    def require_approved_for(self, kind: ChangeKind, target_kind: TargetKind, ident: UUID) -> None:
        """The request is approved and asks for exactly this change of exactly this target:
        what lets a change through the lock."""
        if (
            self.status != ChangeRequestStatus.APPROVED
            or self.kind != kind
            or self.target_kind != target_kind
            or self.target_id != ident
        ):
            raise ChangeNeedsApproval(f"change request {self.id} is not approved for this change")

    def _require_pending(self) -> None:
        if self.status != ChangeRequestStatus.PENDING:
            raise InvalidTransition(f"change request is already {self.status}")

    def approve(self, stamp: Stamp, reason: str | None = None) -> None:
        self._require_pending()
        if stamp.actor == self.requester:
            raise SelfApproval("the requester of a change cannot approve it")
        self._approved(**stamp.fields(reason))

    def reject(self, stamp: Stamp, reason: str | None = None) -> None:
        self._require_pending()
        if stamp.actor == self.requester:
            raise SelfApproval("the requester of a change cannot reject it")
        self._rejected(**stamp.fields(reason))

    def mark_applied(self, stamp: Stamp) -> None:
        if self.status != ChangeRequestStatus.APPROVED:
            raise InvalidTransition("only an approved change request is applied")
        self._applied(**stamp.fields())

    @event(Approved)
    def _approved(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.status = ChangeRequestStatus.APPROVED
        self.decided_by = actor

    @event(Rejected)
    def _rejected(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.status = ChangeRequestStatus.REJECTED
        self.decided_by = actor

    @event(Applied)
    def _applied(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.status = ChangeRequestStatus.APPLIED


def require_through_the_lock(
    cycle_state: CycleState,
    change_request: ChangeRequest | None,
    kind: ChangeKind,
    target_kind: TargetKind,
    target_id: UUID,
    *,
    what: str,
    locked: type[DomainError] = ChangeNeedsApproval,
) -> None:
    """What a cycle scores changes while it is open, and after lock only through a change
    request approved for exactly this change of exactly this target; ``what`` names it in
    the refusal (``"a key result"``), ``locked`` is the refusal without a request."""
    if cycle_state in ENDED_STATES:
        raise CycleClosed(f"{what} of a closed cycle cannot change")
    if cycle_state == CycleState.LOCKED:
        if change_request is None:
            advice = "the cycle is locked: ask for it with a change request"
            raise locked(advice, remedy=Remedy.CHANGE_REQUEST)
        change_request.require_approved_for(kind, target_kind, target_id)
