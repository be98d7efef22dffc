"""The OKR ledger: one method per command on cycles, objectives and key results (change
requests are in ``services.application.change_requests``). Each loads its aggregates, checks
permissions, asks the guardrails, lets the domain enforce its invariants, and records all
new events (with the guardrail decision) in one ``save()``. The guardrails are asked
before the domain acts, so a refused attempt is on record as a denied decision."""

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from events import Commitment, Cycle, KeyResult, Level, Objective
from events.identity import SYSTEM, user_id_field
from events.key_result import OPTIONAL_FIELDS
from services.application.change_requests import ChangeRequestCommands
from services.application.guardrail_input import objective_doc
from services.application.ledger_base import Recorded, retry_on_conflict
from services.application.principals import Principal, Role
from services.application.snapshots import SnapshotCommands

__all__ = ["Ledger", "Recorded"]


class Ledger(SnapshotCommands, ChangeRequestCommands):
    """The OKR ledger application: cycles, objectives, key results, change requests."""

    # eventsourcing names an application after its class unless told otherwise; the name
    # picks the PostgreSQL events table (okrgov_events), so it is fixed here.
    name = SYSTEM

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
        principal.require_objective_writer(user_id_field(owner, "owner"), level)
        stamp = self._stamp(principal)
        cycle = self._load(Cycle, cycle_id)
        cycle.require_open()
        self._check_parent(cycle_id, parent_id, None)
        objective = Objective.create(
            cycle_id, title, description, owner, level, commitment, parent_id, stamp
        )
        allowed = self._guard(
            principal, "objective.create", "objective", None, None, objective_doc(objective),
            cycle=cycle,
        )  # fmt: skip
        cycle.register_objective(objective.id, stamp)
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
        after = {**objective_doc(objective)}
        if title is not None:
            after["title"] = title.strip()
        if description is not None:
            after["description"] = description.strip()
        allowed = self._guard_objective(principal, "objective.revise", objective, cycle, after)
        stamp = self._stamp(principal)
        objective.revise(title, description, reason, stamp, cycle.state)
        return self._commit(allowed, stamp, objective)

    @retry_on_conflict
    def reown_objective(
        self, principal: Principal, objective_id: UUID, owner: str, reason: str | None
    ) -> Recorded:
        objective, cycle = self._writable_objective(principal, objective_id, "re-own it")
        after = {**objective_doc(objective), "owner": user_id_field(owner, "owner")}
        allowed = self._guard_objective(principal, "objective.reown", objective, cycle, after)
        stamp = self._stamp(principal)
        objective.reown(owner, reason, stamp, cycle.state)
        return self._commit(allowed, stamp, objective)

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
        after = {**objective_doc(objective), "parent_id": str(parent_id) if parent_id else None}
        allowed = self._guard_objective(principal, "objective.realign", objective, cycle, after)
        stamp = self._stamp(principal)
        objective.realign(parent_id, reason, stamp, cycle.state)
        cycle.record_alignment(objective.id, parent_id, stamp)
        return self._commit(allowed, stamp, objective, cycle)

    @retry_on_conflict
    def retire_objective(
        self, principal: Principal, objective_id: UUID, reason: str | None
    ) -> Recorded:
        objective, cycle = self._writable_objective(principal, objective_id, "retire it")
        allowed = self._guard_objective(principal, "objective.retire", objective, cycle, None)
        stamp = self._stamp(principal)
        objective.retire(reason, stamp, cycle.state)
        return self._commit(allowed, stamp, objective)

    def _writable_objective(
        self, principal: Principal, objective_id: UUID, to: str
    ) -> tuple[Objective, Cycle]:
        objective = self._load(Objective, objective_id)
        principal.require_owner_or_executive([objective.owner], to=f"{to}: {objective.title}")
        cycle = self._load(Cycle, objective.cycle_id, to_change=False)
        cycle.require_open()
        return objective, cycle

    # ---- key results -------------------------------------------------------------------

    @retry_on_conflict
    def add_key_result(
        self, principal: Principal, objective_id: UUID, definition: dict[str, Any]
    ) -> Recorded:
        objective = self._load(Objective, objective_id)
        principal.require_owner_or_executive([objective.owner], to="add key results here")
        cycle = self._load(Cycle, objective.cycle_id, to_change=False)
        cycle.require_open()
        after = {**dict.fromkeys(OPTIONAL_FIELDS), **definition}
        allowed = self._guard(
            principal, "key_result.add", "key_result", None, None, after,
            objective=objective, cycle=cycle, siblings=self._live_key_results(objective),
        )  # fmt: skip
        stamp = self._stamp(principal)
        key_result = KeyResult.add(objective.id, cycle.id, definition, stamp, cycle.state)
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
