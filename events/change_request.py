"""A change request: the only way to change a key result after its cycle is locked,
approved or rejected by someone other than the requester (four eyes)."""

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from events.errors import InvalidTransition, InvalidValue, SelfApproval
from events.provenance import GovernedAggregate, Stamp
from events.values import ChangeRequestStatus


class ChangeRequest(GovernedAggregate):
    """A proposed post-lock change to one key result, with the reason for it."""

    class Requested(GovernedAggregate.Created):
        # Version 2 added the objective, so a reader of the request alone knows it.
        class_version = 2

        key_result_id: UUID
        changes: dict[str, Any]
        retire: bool
        objective_id: UUID | None
        """The objective of the key result (None only in requests recorded before v2)."""

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.setdefault("objective_id", None)

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
    ) -> "ChangeRequest":
        if not reason or not reason.strip():
            raise InvalidValue("a change request needs a reason", field="reason")
        if retire and changes:
            raise InvalidValue("a request either retires or changes fields", field="changes")
        return cls(
            key_result_id=key_result_id,
            changes=changes,
            retire=retire,
            objective_id=objective_id,
            **stamp.fields(reason.strip()),
        )

    @event(Requested)
    def __init__(
        self,
        key_result_id: UUID,
        changes: dict[str, Any],
        retire: bool,
        objective_id: UUID | None,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.key_result_id = key_result_id
        self.objective_id = objective_id
        self.changes = changes
        self.retire = retire
        self.requester = actor
        self.reason = reason
        self.status = ChangeRequestStatus.PENDING
        self.decided_by: str | None = None

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
