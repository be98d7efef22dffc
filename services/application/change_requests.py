"""Change requests: after lock, the only way what a cycle scores changes. A request asks to
revise or retire a key result or an objective, or to add a key result to an objective or
an objective to the cycle; someone other than the requester, in a role the guardrails
allow to approve (``approver_role``), approves it, and the approval applies the change in
the same save: the approval, the change itself, and "applied"."""

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from events import ChangeRequest, Cycle, CycleState, KeyResult, Objective, Stamp
from events.errors import InvalidTransition, InvalidValue
from events.key_result import new_definition
from events.objective import check_objective_changes
from events.values import ChangeKind, TargetKind
from services.application.guard import Allowed, Guard
from services.application.guardrail_input import objective_doc
from services.application.ledger_base import LedgerBase, Recorded, retry_on_conflict
from services.application.principals import Principal


@dataclass
class Subject:
    """What a change request is about, loaded: the resource the guardrails judge (kind and
    id; a new key result or objective has no id yet), its cycle, its objective (if any),
    the key result (if any), and the definitions before and after the change."""

    resource_kind: str
    resource_id: UUID | None
    cycle: Cycle
    objective: Objective | None = None
    key_result: KeyResult | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    siblings: list[KeyResult] = field(default_factory=list)


class ChangeRequestCommands:
    """Requesting, approving and rejecting change requests."""

    def __init__(self, store: LedgerBase, guard: Guard) -> None:
        self.store = store
        self.guard = guard

    # ---- requesting --------------------------------------------------------------------

    @retry_on_conflict
    def request_change(
        self,
        principal: Principal,
        key_result_id: UUID,
        changes: dict[str, Any],
        reason: str | None,
        retire: bool = False,
    ) -> Recorded:
        """Ask to revise or retire a key result (its owner, its objective's owner, or an
        executive)."""
        key_result, objective, cycle = self.store.key_result_context(key_result_id)
        principal.require_owner_or_executive(
            [key_result.owner, objective.owner], to="request a change to this key result"
        )
        _require_locked(cycle, "revise the key result directly (PATCH)")
        after = None if retire else {**key_result.definition, **changes}
        allowed = self.guard.check_key_result(
            self.store, principal, "change_request.request", key_result, objective, cycle, after
        )
        if not retire:
            key_result.proposed(changes)  # refuse at once what could never be applied
        stamp = self.store.stamp(principal)
        request = ChangeRequest.request(
            key_result.id, changes, retire, reason, stamp,
            objective_id=objective.id, cycle_id=cycle.id,
        )  # fmt: skip
        return self.guard.commit(self.store, allowed, stamp, request)

    @retry_on_conflict
    def request_objective_change(
        self,
        principal: Principal,
        objective_id: UUID,
        changes: dict[str, Any],
        reason: str | None,
        retire: bool = False,
    ) -> Recorded:
        """Ask to change an objective's definition (title, description, owner, level,
        commitment, parent) or to retire it (its owner or an executive)."""
        objective = self.store.load(Objective, objective_id, to_change=False)
        principal.require_owner_or_executive(
            [objective.owner], to=f"request a change to objective {objective.title}"
        )
        cycle = self.store.load(Cycle, objective.cycle_id, to_change=False)
        _require_locked(cycle, "change the objective directly")
        after = None
        if not retire:
            checked = check_objective_changes(changes)
            if "parent_id" in checked and checked["parent_id"] is not None:
                self.store.check_parent(cycle.id, UUID(checked["parent_id"]), objective.id)
            if all(objective.definition[k] == v for k, v in checked.items()):
                raise InvalidValue("these changes leave the objective as it is", field="changes")
            after = {**objective_doc(objective), **checked}
        allowed = self.guard.check(
            self.store, principal, "change_request.request", TargetKind.OBJECTIVE, objective.id,
            objective_doc(objective), after, objective=objective, cycle=cycle,
        )  # fmt: skip
        stamp = self.store.stamp(principal)
        request = ChangeRequest.about(
            ChangeKind.RETIRE if retire else ChangeKind.REVISE, TargetKind.OBJECTIVE,
            objective.id, {} if retire else changes, reason, stamp,
            objective_id=objective.id, cycle_id=cycle.id,
        )  # fmt: skip
        return self.guard.commit(self.store, allowed, stamp, request)

    @retry_on_conflict
    def request_key_result(
        self,
        principal: Principal,
        objective_id: UUID,
        definition: dict[str, Any],
        reason: str | None,
    ) -> Recorded:
        """Ask to add a key result to an objective of a locked cycle."""
        objective = self.store.load(Objective, objective_id, to_change=False)
        principal.require_owner_or_executive(
            [objective.owner], to=f"request a key result for objective {objective.title}"
        )
        cycle = self.store.load(Cycle, objective.cycle_id, to_change=False)
        _require_locked(cycle, "add the key result directly")
        checked = new_definition(definition)
        allowed = self.guard.check(
            self.store, principal, "change_request.request", TargetKind.KEY_RESULT,
            None, None, checked,
            objective=objective, cycle=cycle, siblings=self.store.live_key_results(objective),
        )  # fmt: skip
        stamp = self.store.stamp(principal)
        request = ChangeRequest.about(
            ChangeKind.ADD_KEY_RESULT, TargetKind.OBJECTIVE, objective.id, checked, reason,
            stamp, objective_id=objective.id, cycle_id=cycle.id,
        )  # fmt: skip
        return self.guard.commit(self.store, allowed, stamp, request)

    @retry_on_conflict
    def request_objective(
        self,
        principal: Principal,
        cycle_id: UUID,
        definition: dict[str, Any],
        reason: str | None,
    ) -> Recorded:
        """Ask to add an objective to a locked cycle; who may ask is who may write it."""
        checked = check_objective_changes(definition)
        for required in ("title", "owner", "level", "commitment"):
            if required not in checked:
                raise InvalidValue(f"a new objective needs a {required}", field=required)
        checked.setdefault("description", "")
        checked.setdefault("parent_id", None)
        principal.require_objective_writer(checked["owner"], checked["level"])
        cycle = self.store.load(Cycle, cycle_id, to_change=False)
        _require_locked(cycle, "create the objective directly")
        if checked["parent_id"] is not None:
            self.store.check_parent(cycle.id, UUID(checked["parent_id"]), None)
        allowed = self.guard.check(
            self.store, principal, "change_request.request", TargetKind.OBJECTIVE,
            None, None, checked,
            cycle=cycle,
        )  # fmt: skip
        stamp = self.store.stamp(principal)
        request = ChangeRequest.about(
            ChangeKind.ADD_OBJECTIVE, TargetKind.CYCLE, cycle.id, checked, reason, stamp,
            objective_id=None, cycle_id=cycle.id,
        )  # fmt: skip
        return self.guard.commit(self.store, allowed, stamp, request)

    # ---- deciding ----------------------------------------------------------------------

    @retry_on_conflict
    def approve_change(
        self, principal: Principal, change_request_id: UUID, reason: str | None = None
    ) -> Recorded:
        """Approve and apply in one save: the approval, the change and "applied"."""
        principal.require_not_compliance("approve change requests")
        request = self.store.load(ChangeRequest, change_request_id)
        subject = self._subject(request, to_change=True)
        allowed = self._guard_decision(principal, "change_request.approve", request, subject)
        stamp = self.store.stamp(principal)
        request.approve(stamp, reason)
        changed = self._apply(request, subject, stamp)
        request.mark_applied(stamp)
        return self.guard.commit(self.store, allowed, stamp, request, *changed)

    @retry_on_conflict
    def reject_change(
        self, principal: Principal, change_request_id: UUID, reason: str | None = None
    ) -> Recorded:
        principal.require_not_compliance("reject change requests")
        request = self.store.load(ChangeRequest, change_request_id)
        subject = self._subject(request, to_change=False)
        allowed = self._guard_decision(principal, "change_request.reject", request, subject)
        stamp = self.store.stamp(principal)
        request.reject(stamp, reason)
        return self.guard.commit(self.store, allowed, stamp, request)

    def _subject(self, request: ChangeRequest, *, to_change: bool) -> Subject:
        """Load what the request is about (to change it, when approving), with the
        definitions before and after as the guardrails judge them."""
        changes = request.changes
        if request.target_kind == TargetKind.KEY_RESULT:
            key_result = self.store.load(KeyResult, request.target_id, to_change=to_change)
            objective = self.store.load(Objective, key_result.objective_id, to_change=False)
            cycle = self.store.load(Cycle, key_result.cycle_id, to_change=False)
            after = None if request.retire else {**key_result.definition, **changes}
            return Subject(
                TargetKind.KEY_RESULT, key_result.id, cycle, objective, key_result,
                dict(key_result.definition), after,
                list(self.store.live_key_results(objective, but=key_result.id)),
            )  # fmt: skip
        if request.target_kind == TargetKind.OBJECTIVE:
            objective = self.store.load(Objective, request.target_id, to_change=to_change)
            # A new parent is recorded on the cycle too (realignments serialise on it).
            realigns = to_change and "parent_id" in changes and request.kind == ChangeKind.REVISE
            cycle = self.store.load(Cycle, objective.cycle_id, to_change=realigns)
            if request.kind == ChangeKind.ADD_KEY_RESULT:
                siblings = list(self.store.live_key_results(objective))
                return Subject(
                    TargetKind.KEY_RESULT, None, cycle, objective, None, None, changes, siblings
                )
            before = objective_doc(objective)
            after = None if request.retire else {**before, **changes}
            return Subject(
                TargetKind.OBJECTIVE, objective.id, cycle, objective, None, before, after
            )
        cycle = self.store.load(Cycle, request.target_id, to_change=to_change)
        return Subject(TargetKind.OBJECTIVE, None, cycle, None, None, None, changes)

    def _guard_decision(
        self, principal: Principal, action: str, request: ChangeRequest, subject: Subject
    ) -> Allowed:
        return self.guard.check(
            self.store, principal, action, subject.resource_kind, subject.resource_id,
            subject.before, subject.after,
            objective=subject.objective, cycle=subject.cycle, siblings=subject.siblings,
            change_request=request,
        )  # fmt: skip

    def _apply(self, request: ChangeRequest, subject: Subject, stamp: Stamp) -> list[Aggregate]:
        """Make the approved change; returns the aggregates it changed or created."""
        cycle, objective, key_result = subject.cycle, subject.objective, subject.key_result
        if key_result is not None:
            if request.retire:
                key_result.retire(request.reason, cycle.state, stamp, change_request=request)
            else:
                key_result.revise(
                    request.changes, request.reason, cycle.state, stamp, change_request=request
                )
            return [key_result]
        if request.kind == ChangeKind.ADD_KEY_RESULT:
            assert objective is not None
            added = KeyResult.add(
                objective.id, cycle.id, request.changes, stamp, cycle.state, request
            )
            objective.attach_key_result(added.id, stamp)
            return [added, objective]
        if request.kind == ChangeKind.ADD_OBJECTIVE:
            return self._add_objective(request, cycle, stamp)
        assert objective is not None
        if request.retire:
            objective.retire(request.reason, stamp, cycle.state, request)
            return [objective]
        return self._amend_objective(request, objective, cycle, stamp)

    def _add_objective(self, request: ChangeRequest, cycle: Cycle, stamp: Stamp) -> list[Aggregate]:
        d = request.changes
        parent_id = UUID(d["parent_id"]) if d.get("parent_id") else None
        self.store.check_parent(cycle.id, parent_id, None)
        created = Objective.create(
            cycle.id, d["title"], d.get("description", ""), d["owner"], d["level"],
            d["commitment"], parent_id, stamp, change_request=request,
        )  # fmt: skip
        cycle.register_objective(created.id, stamp, change_request=request)
        return [created, cycle]

    def _amend_objective(
        self, request: ChangeRequest, objective: Objective, cycle: Cycle, stamp: Stamp
    ) -> list[Aggregate]:
        objective.amend(request.changes, stamp, cycle.state, request)
        if "parent_id" not in request.changes:
            return [objective]
        parent_id = objective.parent_id
        self.store.check_parent(cycle.id, parent_id, objective.id)
        cycle.record_alignment(objective.id, parent_id, stamp)
        return [objective, cycle]


def _require_locked(cycle: Cycle, otherwise: str) -> None:
    """Change requests exist for locked cycles: before lock, change things directly;
    after close, nothing changes."""
    cycle.require_open()
    if cycle.state != CycleState.LOCKED:
        raise InvalidTransition(f"the cycle is not locked: {otherwise}")
