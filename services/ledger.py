"""The OKR ledger: one method per command on cycles, objectives, key results and change
requests. Each loads its aggregates, checks permissions, asks the guardrails, lets the
domain enforce its invariants, and records all new events (with the guardrail decision)
in one ``save()``."""

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from events import (
    ChangeRequest,
    Commitment,
    Cycle,
    CycleState,
    KeyResult,
    Level,
    Objective,
)
from events.errors import InvalidTransition, InvalidValue
from events.key_result import OPTIONAL_FIELDS
from services.errors import Forbidden, NotFound
from services.guardrail_input import objective_doc
from services.ledger_base import Recorded, retry_on_conflict
from services.principals import Principal, Role
from services.snapshot_commands import SnapshotCommands

__all__ = ["Ledger", "Recorded"]


class Ledger(SnapshotCommands):
    """The OKR ledger application: cycles, objectives, key results, change requests."""

    # eventsourcing names an application after its class unless told otherwise; the name
    # picks the PostgreSQL events table (okrgov_events), so it is fixed here.
    name = "okrgov"

    # ---- loading -----------------------------------------------------------------------

    def _check_parent(self, cycle_id: UUID, parent_id: UUID | None, child: UUID | None) -> None:
        """A parent objective exists, belongs to the same cycle, and no loop forms."""
        seen = {child} if child else set()
        current = parent_id
        while current is not None:
            if current in seen:
                raise InvalidValue("this alignment would form a loop", field="parent_id")
            seen.add(current)
            try:
                parent = self._load(Objective, current, to_change=False)
            except NotFound:
                raise InvalidValue(
                    f"parent objective {current} does not exist", field="parent_id"
                ) from None
            if parent.cycle_id != cycle_id:
                raise InvalidValue(
                    "a parent objective must be in the same cycle", field="parent_id"
                )
            current = parent.parent_id

    def _key_result_context(self, key_result_id: UUID) -> tuple[KeyResult, Objective, Cycle]:
        """A key result with its objective and cycle, which commands on it only read."""
        key_result = self._load(KeyResult, key_result_id)
        objective = self._load(Objective, key_result.objective_id, to_change=False)
        cycle = self._load(Cycle, key_result.cycle_id, to_change=False)
        return key_result, objective, cycle

    # ---- cycles ------------------------------------------------------------------------

    @retry_on_conflict
    def open_cycle(
        self, principal: Principal, name: str, starts_on: date, ends_on: date
    ) -> Recorded:
        principal.require(Role.EXECUTIVE, Role.ADMIN, to="open a cycle")
        stamp = self._stamp(principal)
        cycle = Cycle.open(name, starts_on, ends_on, stamp)
        after = {"name": cycle.name, "starts_on": str(starts_on), "ends_on": str(ends_on)}
        allowed = self._guard(principal, "cycle.open", "cycle", None, None, after)
        return self._commit(allowed, stamp, cycle)

    @retry_on_conflict
    def lock_cycle(self, principal: Principal, cycle_id: UUID) -> Recorded:
        principal.require(Role.EXECUTIVE, Role.ADMIN, to="lock a cycle")
        cycle = self._load(Cycle, cycle_id)
        stamp = self._stamp(principal)
        cycle.lock(stamp)
        key_results = [kr for o in self._live_objectives(cycle) for kr in self._live_key_results(o)]
        allowed = self._guard(
            principal, "cycle.lock", "cycle", cycle.id, None, None,
            cycle=cycle, cycle_key_results=key_results,
        )  # fmt: skip
        return self._commit(allowed, stamp, cycle)

    @retry_on_conflict
    def close_cycle(self, principal: Principal, cycle_id: UUID) -> Recorded:
        """Close the cycle and score every live key result and objective in one save."""
        principal.require(Role.EXECUTIVE, Role.ADMIN, to="close a cycle")
        stamp = self._stamp(principal)
        cycle = self._load(Cycle, cycle_id)
        cycle.close(stamp)
        allowed = self._guard(principal, "cycle.close", "cycle", cycle.id, None, None, cycle=cycle)
        scored: list[Aggregate] = []
        for objective in self._live_objectives(cycle, to_change=True):
            scores: dict[str, float] = {}
            for key_result in self._live_key_results(objective, to_change=True):
                scores[str(key_result.id)] = key_result.record_score(stamp)
                scored.append(key_result)
            objective.record_score(scores, stamp)
            scored.append(objective)
        return self._commit(allowed, stamp, cycle, *scored)

    # ---- objectives --------------------------------------------------------------------

    @retry_on_conflict
    def create_objective(
        self,
        principal: Principal,
        cycle_id: UUID,
        title: str,
        owner: str,
        level: Level,
        commitment: Commitment,
        description: str = "",
        parent_id: UUID | None = None,
    ) -> Recorded:
        if not principal.has(Role.EXECUTIVE):
            principal.require(Role.MEMBER, to="create objectives")
            if owner != principal.user:
                raise Forbidden("members create objectives they own themselves")
            if level == Level.COMPANY:
                raise Forbidden("only executives write company-level objectives")
        stamp = self._stamp(principal)
        cycle = self._load(Cycle, cycle_id)
        self._check_parent(cycle_id, parent_id, None)
        objective = Objective.create(
            cycle_id, title, description, owner, level, commitment, parent_id, stamp
        )
        cycle.register_objective(objective.id, stamp)
        allowed = self._guard(
            principal, "objective.create", "objective", None, None, objective_doc(objective),
            cycle=cycle,
        )  # fmt: skip
        return self._commit(allowed, stamp, objective, cycle)

    @retry_on_conflict
    def revise_objective(
        self,
        principal: Principal,
        objective_id: UUID,
        title: str | None = None,
        description: str | None = None,
        reason: str | None = None,
    ) -> Recorded:
        objective, cycle = self._writable_objective(principal, objective_id, "revise it")
        before = objective_doc(objective)
        stamp = self._stamp(principal)
        objective.revise(title, description, reason, stamp)
        return self._objective_changed(principal, "objective.revise", before, objective, cycle)

    @retry_on_conflict
    def reown_objective(
        self, principal: Principal, objective_id: UUID, owner: str, reason: str | None
    ) -> Recorded:
        objective, cycle = self._writable_objective(principal, objective_id, "re-own it")
        before = objective_doc(objective)
        objective.reown(owner, reason, self._stamp(principal))
        return self._objective_changed(principal, "objective.reown", before, objective, cycle)

    @retry_on_conflict
    def realign_objective(
        self,
        principal: Principal,
        objective_id: UUID,
        parent_id: UUID | None,
        reason: str | None,
    ) -> Recorded:
        objective, cycle = self._writable_objective(principal, objective_id, "re-align it")
        # The cycle records the new alignment too: realignments (and creations) within one
        # cycle then serialise on it, so two racing realignments cannot form a loop that
        # each check alone would have refused.
        cycle = self._load(Cycle, cycle.id)
        self._check_parent(cycle.id, parent_id, objective.id)
        before = objective_doc(objective)
        stamp = self._stamp(principal)
        objective.realign(parent_id, reason, stamp)
        cycle.record_alignment(objective.id, parent_id, stamp)
        return self._objective_changed(
            principal, "objective.realign", before, objective, cycle, also=cycle
        )

    @retry_on_conflict
    def retire_objective(
        self, principal: Principal, objective_id: UUID, reason: str | None
    ) -> Recorded:
        objective, cycle = self._writable_objective(principal, objective_id, "retire it")
        before = objective_doc(objective)
        objective.retire(reason, self._stamp(principal))
        return self._objective_changed(principal, "objective.retire", before, objective, cycle)

    def _writable_objective(
        self, principal: Principal, objective_id: UUID, to: str
    ) -> tuple[Objective, Cycle]:
        objective = self._load(Objective, objective_id)
        principal.require_owner_or_executive([objective.owner], to=f"{to}: {objective.title}")
        cycle = self._load(Cycle, objective.cycle_id, to_change=False)
        cycle.require_open()
        return objective, cycle

    def _objective_changed(
        self,
        principal: Principal,
        action: str,
        before: dict[str, Any],
        objective: Objective,
        cycle: Cycle,
        also: Aggregate | None = None,
    ) -> Recorded:
        after = objective_doc(objective) if not objective.retired else None
        allowed = self._guard(
            principal, action, "objective", objective.id, before, after,
            objective=objective, cycle=cycle,
        )  # fmt: skip
        stamp = self._stamp(principal)
        return self._commit(allowed, stamp, objective, *([also] if also else []))

    # ---- key results -------------------------------------------------------------------

    @retry_on_conflict
    def add_key_result(
        self, principal: Principal, objective_id: UUID, definition: dict[str, Any]
    ) -> Recorded:
        objective = self._load(Objective, objective_id)
        principal.require_owner_or_executive([objective.owner], to="add key results here")
        cycle = self._load(Cycle, objective.cycle_id, to_change=False)
        cycle.require_planning("key results are set before the cycle is locked")
        after = {**dict.fromkeys(OPTIONAL_FIELDS), **definition}
        allowed = self._guard(
            principal, "key_result.add", "key_result", None, None, after,
            objective=objective, cycle=cycle, siblings=self._live_key_results(objective),
        )  # fmt: skip
        stamp = self._stamp(principal)
        key_result = KeyResult.add(objective.id, cycle.id, definition, stamp)
        objective.attach_key_result(key_result.id, stamp)
        return self._commit(allowed, stamp, key_result, objective)

    @retry_on_conflict
    def revise_key_result(
        self,
        principal: Principal,
        key_result_id: UUID,
        changes: dict[str, Any],
        reason: str | None,
    ) -> Recorded:
        key_result, objective, cycle = self._key_result_context(key_result_id)
        principal.require_owner_or_executive(
            [key_result.owner, objective.owner], to="revise this key result"
        )
        allowed = self._guard_key_result(
            principal, "key_result.revise", key_result, objective, cycle,
            {**key_result.definition, **changes},
        )  # fmt: skip
        stamp = self._stamp(principal)
        key_result.revise(changes, reason, cycle.state, stamp)
        return self._commit(allowed, stamp, key_result)

    @retry_on_conflict
    def retire_key_result(
        self, principal: Principal, key_result_id: UUID, reason: str | None
    ) -> Recorded:
        key_result, objective, cycle = self._key_result_context(key_result_id)
        principal.require_owner_or_executive(
            [key_result.owner, objective.owner], to="retire this key result"
        )
        allowed = self._guard_key_result(
            principal, "key_result.retire", key_result, objective, cycle, None
        )
        stamp = self._stamp(principal)
        key_result.retire(reason, cycle.state, stamp)
        return self._commit(allowed, stamp, key_result)

    @retry_on_conflict
    def check_in(
        self,
        principal: Principal,
        key_result_id: UUID,
        value: float,
        confidence: float,
        note: str = "",
    ) -> Recorded:
        key_result, objective, cycle = self._key_result_context(key_result_id)
        principal.require_owner_or_executive(
            [key_result.owner, objective.owner], to="check in on this key result"
        )
        after = {**key_result.definition, "value": value, "confidence": confidence}
        allowed = self._guard(
            principal, "key_result.check_in", "key_result", key_result.id,
            key_result.definition, after, objective=objective, cycle=cycle,
        )  # fmt: skip
        stamp = self._stamp(principal)
        key_result.check_in(value, confidence, note, cycle.state, stamp)
        return self._commit(allowed, stamp, key_result)

    def _guard_key_result(
        self,
        principal: Principal,
        action: str,
        key_result: KeyResult,
        objective: Objective,
        cycle: Cycle,
        after: dict[str, Any] | None,
        change_request: ChangeRequest | None = None,
    ) -> Any:
        """Guard a change to one key result's definition (revise, retire, request)."""
        return self._guard(
            principal, action, "key_result", key_result.id, dict(key_result.definition), after,
            objective=objective, cycle=cycle, change_request=change_request,
            siblings=self._live_key_results(objective, but=key_result.id),
        )  # fmt: skip

    # ---- change requests ---------------------------------------------------------------

    @retry_on_conflict
    def request_change(
        self,
        principal: Principal,
        key_result_id: UUID,
        changes: dict[str, Any],
        reason: str | None,
        retire: bool = False,
    ) -> Recorded:
        key_result, objective, cycle = self._key_result_context(key_result_id)
        principal.require_owner_or_executive(
            [key_result.owner, objective.owner], to="request a change to this key result"
        )
        cycle.require_open()
        if cycle.state != CycleState.LOCKED:
            raise InvalidTransition(
                "the cycle is not locked: revise the key result directly (PATCH)"
            )
        after = None if retire else {**key_result.definition, **changes}
        allowed = self._guard_key_result(
            principal, "change_request.request", key_result, objective, cycle, after
        )
        if not retire:
            key_result.proposed(changes)  # refuse at once what could never be applied
        stamp = self._stamp(principal)
        request = ChangeRequest.request(
            key_result.id, changes, retire, reason, stamp, objective_id=objective.id
        )
        return self._commit(allowed, stamp, request)

    @retry_on_conflict
    def approve_change(
        self, principal: Principal, change_request_id: UUID, reason: str | None = None
    ) -> Recorded:
        """Approve and apply in one save: the approval, the revision and 'applied'."""
        request, key_result, objective, cycle = self._decidable(
            principal, change_request_id, "approve"
        )
        after = None if request.retire else {**key_result.definition, **request.changes}
        allowed = self._guard_key_result(
            principal, "change_request.approve", key_result, objective, cycle, after, request
        )
        stamp = self._stamp(principal)
        request.approve(stamp, reason)
        if request.retire:
            key_result.retire(request.reason, cycle.state, stamp, change_request=request)
        else:
            key_result.revise(
                request.changes, request.reason, cycle.state, stamp, change_request=request
            )
        request.mark_applied(stamp)
        return self._commit(allowed, stamp, request, key_result)

    @retry_on_conflict
    def reject_change(
        self, principal: Principal, change_request_id: UUID, reason: str | None = None
    ) -> Recorded:
        request, key_result, objective, cycle = self._decidable(
            principal, change_request_id, "reject"
        )
        allowed = self._guard_key_result(
            principal, "change_request.reject", key_result, objective, cycle,
            dict(key_result.definition), request,
        )  # fmt: skip
        stamp = self._stamp(principal)
        request.reject(stamp, reason)
        return self._commit(allowed, stamp, request)

    def _decidable(
        self, principal: Principal, change_request_id: UUID, verb: str
    ) -> tuple[ChangeRequest, KeyResult, Objective, Cycle]:
        request = self._load(ChangeRequest, change_request_id)
        key_result, objective, cycle = self._key_result_context(request.key_result_id)
        principal.require_owner_or_executive(
            [objective.owner], to=f"{verb} change requests on this objective"
        )
        cycle.require_open()
        return request, key_result, objective, cycle
