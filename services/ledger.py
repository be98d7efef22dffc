"""The OKR ledger: one method per command on cycles, objectives, key results and change
requests. Each loads its aggregates, checks permissions, asks the guardrails, lets the
domain enforce its invariants, and records all new events in one ``save()``."""

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
from services.errors import Forbidden, NotFound
from services.ledger_base import LedgerBase, Recorded, retry_on_conflict
from services.principals import Principal, Role

__all__ = ["Ledger", "Recorded"]


class Ledger(LedgerBase):
    """The OKR ledger application: cycles, objectives, key results, change requests."""

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
        cycle = Cycle.open(name, starts_on, ends_on, self._stamp(principal))
        return self._save(cycle)

    @retry_on_conflict
    def lock_cycle(self, principal: Principal, cycle_id: UUID) -> Recorded:
        principal.require(Role.EXECUTIVE, Role.ADMIN, to="lock a cycle")
        cycle = self._load(Cycle, cycle_id)
        cycle.lock(self._stamp(principal))
        return self._save(cycle)

    @retry_on_conflict
    def close_cycle(self, principal: Principal, cycle_id: UUID) -> Recorded:
        """Close the cycle and score every live key result and objective in one save."""
        principal.require(Role.EXECUTIVE, Role.ADMIN, to="close a cycle")
        stamp = self._stamp(principal)
        cycle = self._load(Cycle, cycle_id)
        cycle.close(stamp)
        scored: list[Aggregate] = []
        for objective_id in cycle.objective_ids:
            objective = self._load(Objective, objective_id)
            if objective.retired:
                continue
            scores: dict[str, float] = {}
            for key_result_id in objective.key_result_ids:
                key_result = self._load(KeyResult, key_result_id)
                if not key_result.retired:
                    scores[str(key_result.id)] = key_result.record_score(stamp)
                    scored.append(key_result)
            objective.record_score(scores, stamp)
            scored.append(objective)
        return self._save(cycle, *scored)

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
        return self._save(objective, cycle)

    @retry_on_conflict
    def revise_objective(
        self,
        principal: Principal,
        objective_id: UUID,
        title: str | None = None,
        description: str | None = None,
        reason: str | None = None,
    ) -> Recorded:
        objective, _ = self._writable_objective(principal, objective_id, "revise this objective")
        objective.revise(title, description, reason, self._stamp(principal))
        return self._save(objective)

    @retry_on_conflict
    def reown_objective(
        self, principal: Principal, objective_id: UUID, owner: str, reason: str | None
    ) -> Recorded:
        objective, _ = self._writable_objective(principal, objective_id, "re-own this objective")
        objective.reown(owner, reason, self._stamp(principal))
        return self._save(objective)

    @retry_on_conflict
    def realign_objective(
        self,
        principal: Principal,
        objective_id: UUID,
        parent_id: UUID | None,
        reason: str | None,
    ) -> Recorded:
        objective, cycle = self._writable_objective(
            principal, objective_id, "re-align this objective"
        )
        # The cycle records the new alignment too: realignments (and creations) within one
        # cycle then serialise on it, so two racing realignments cannot form a loop that
        # each check alone would have refused.
        cycle = self._load(Cycle, cycle.id)
        self._check_parent(cycle.id, parent_id, objective.id)
        stamp = self._stamp(principal)
        objective.realign(parent_id, reason, stamp)
        cycle.record_alignment(objective.id, parent_id, stamp)
        return self._save(objective, cycle)

    @retry_on_conflict
    def retire_objective(
        self, principal: Principal, objective_id: UUID, reason: str | None
    ) -> Recorded:
        objective, _ = self._writable_objective(principal, objective_id, "retire this objective")
        objective.retire(reason, self._stamp(principal))
        return self._save(objective)

    def _writable_objective(
        self, principal: Principal, objective_id: UUID, to: str
    ) -> tuple[Objective, Cycle]:
        objective = self._load(Objective, objective_id)
        principal.require_owner_or_executive([objective.owner], to=to)
        cycle = self._load(Cycle, objective.cycle_id)
        cycle.require_open()
        return objective, cycle

    # ---- key results -------------------------------------------------------------------

    @retry_on_conflict
    def add_key_result(
        self, principal: Principal, objective_id: UUID, definition: dict[str, Any]
    ) -> Recorded:
        objective = self._load(Objective, objective_id)
        principal.require_owner_or_executive([objective.owner], to="add key results here")
        cycle = self._load(Cycle, objective.cycle_id)
        cycle.require_planning("key results are set before the cycle is locked")
        stamp = self._stamp(principal)
        key_result = KeyResult.add(objective.id, cycle.id, definition, stamp)
        objective.attach_key_result(key_result.id, stamp)
        return self._save(key_result, objective)

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
        key_result.revise(changes, reason, cycle.state, self._stamp(principal))
        return self._save(key_result)

    @retry_on_conflict
    def retire_key_result(
        self, principal: Principal, key_result_id: UUID, reason: str | None
    ) -> Recorded:
        key_result, objective, cycle = self._key_result_context(key_result_id)
        principal.require_owner_or_executive(
            [key_result.owner, objective.owner], to="retire this key result"
        )
        key_result.retire(reason, cycle.state, self._stamp(principal))
        return self._save(key_result)

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
        key_result.check_in(value, confidence, note, cycle.state, self._stamp(principal))
        return self._save(key_result)

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
        if not retire:
            key_result.proposed(changes)  # refuse at once what could never be applied
        request = ChangeRequest.request(
            key_result.id, changes, retire, reason, self._stamp(principal)
        )
        return self._save(request)

    @retry_on_conflict
    def approve_change(
        self, principal: Principal, change_request_id: UUID, reason: str | None = None
    ) -> Recorded:
        """Approve and apply in one save: the approval, the revision and 'applied'."""
        request, key_result, cycle = self._decidable(principal, change_request_id, "approve")
        stamp = self._stamp(principal)
        request.approve(stamp, reason)
        if request.retire:
            key_result.retire(request.reason, cycle.state, stamp, change_request=request)
        else:
            key_result.revise(
                request.changes, request.reason, cycle.state, stamp, change_request=request
            )
        request.mark_applied(stamp)
        return self._save(request, key_result)

    @retry_on_conflict
    def reject_change(
        self, principal: Principal, change_request_id: UUID, reason: str | None = None
    ) -> Recorded:
        request, _, _ = self._decidable(principal, change_request_id, "reject")
        request.reject(self._stamp(principal), reason)
        return self._save(request)

    def _decidable(
        self, principal: Principal, change_request_id: UUID, verb: str
    ) -> tuple[ChangeRequest, KeyResult, Cycle]:
        request = self._load(ChangeRequest, change_request_id)
        key_result, objective, cycle = self._key_result_context(request.key_result_id)
        principal.require_owner_or_executive(
            [objective.owner], to=f"{verb} change requests on this objective"
        )
        cycle.require_open()
        return request, key_result, cycle
