"""Commands on objectives before their cycle locks: create one (aligned under a parent of
the same cycle, never in a loop), revise, re-own, re-align and retire it. After lock the
same changes go through change requests (``services.application.change_requests``)."""

from uuid import UUID

from events import Commitment, Cycle, Level, Objective
from events.identity import user_id_field
from events.values import TargetKind
from services.application.guard import Guard
from services.application.guardrail_input import objective_doc
from services.application.ledger_base import LedgerBase, Recorded, retry_on_conflict
from services.application.principals import Principal


class ObjectiveCommands:
    """Who may write an objective depends on its level (``require_objective_writer``);
    who may change one is its owner or an executive."""

    def __init__(self, store: LedgerBase, guard: Guard) -> None:
        self.store = store
        self.guard = guard

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
        store = self.store
        stamp = store.stamp(principal)
        cycle = store.load(Cycle, cycle_id)
        cycle.require_open()
        store.check_parent(cycle_id, parent_id, None)
        objective = Objective.create(
            cycle_id, title, description, owner, level, commitment, parent_id, stamp
        )
        allowed = self.guard.check(
            store, principal, "objective.create", TargetKind.OBJECTIVE, None, None,
            objective_doc(objective), cycle=cycle,
        )  # fmt: skip
        cycle.register_objective(objective.id, stamp)
        return self.guard.commit(store, allowed, stamp, objective, cycle)

    @retry_on_conflict
    def revise_objective(
        self,
        principal: Principal,
        objective_id: UUID,
        title: str | None = None,
        description: str | None = None,
        reason: str | None = None,
    ) -> Recorded:
        objective, cycle = self._writable(principal, objective_id, "revise it")
        after = {**objective_doc(objective)}
        if title is not None:
            after["title"] = title.strip()
        if description is not None:
            after["description"] = description.strip()
        allowed = self.guard.check_objective(
            self.store, principal, "objective.revise", objective, cycle, after
        )
        stamp = self.store.stamp(principal)
        objective.revise(title, description, reason, stamp, cycle.state)
        return self.guard.commit(self.store, allowed, stamp, objective)

    @retry_on_conflict
    def reown_objective(
        self, principal: Principal, objective_id: UUID, owner: str, reason: str | None
    ) -> Recorded:
        objective, cycle = self._writable(principal, objective_id, "re-own it")
        after = {**objective_doc(objective), "owner": user_id_field(owner, "owner")}
        allowed = self.guard.check_objective(
            self.store, principal, "objective.reown", objective, cycle, after
        )
        stamp = self.store.stamp(principal)
        objective.reown(owner, reason, stamp, cycle.state)
        return self.guard.commit(self.store, allowed, stamp, objective)

    @retry_on_conflict
    def realign_objective(
        self,
        principal: Principal,
        objective_id: UUID,
        parent_id: UUID | None,
        reason: str | None,
    ) -> Recorded:
        store = self.store
        objective, cycle = self._writable(principal, objective_id, "re-align it")
        # The cycle records the new alignment too: realignments (and creations) within one
        # cycle then serialise on it, so two racing realignments cannot form a loop that
        # each check alone would have refused.
        cycle = store.load(Cycle, cycle.id)
        store.check_parent(cycle.id, parent_id, objective.id)
        after = {**objective_doc(objective), "parent_id": str(parent_id) if parent_id else None}
        allowed = self.guard.check_objective(
            store, principal, "objective.realign", objective, cycle, after
        )
        stamp = store.stamp(principal)
        objective.realign(parent_id, reason, stamp, cycle.state)
        cycle.record_alignment(objective.id, parent_id, stamp)
        return self.guard.commit(store, allowed, stamp, objective, cycle)

    @retry_on_conflict
    def retire_objective(
        self, principal: Principal, objective_id: UUID, reason: str | None
    ) -> Recorded:
        objective, cycle = self._writable(principal, objective_id, "retire it")
        allowed = self.guard.check_objective(
            self.store, principal, "objective.retire", objective, cycle, None
        )
        stamp = self.store.stamp(principal)
        objective.retire(reason, stamp, cycle.state)
        return self.guard.commit(self.store, allowed, stamp, objective)

    def _writable(
        self, principal: Principal, objective_id: UUID, to: str
    ) -> tuple[Objective, Cycle]:
        """The objective to change, if the principal may (its owner or an executive) and
        its cycle is still open."""
        objective = self.store.load(Objective, objective_id)
        principal.require_owner_or_executive([objective.owner], to=f"{to}: {objective.title}")
        cycle = self.store.load(Cycle, objective.cycle_id, to_change=False)
        cycle.require_open()
        return objective, cycle
