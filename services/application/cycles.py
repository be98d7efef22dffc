"""Commands on a cycle: open it, lock it (from then on its key results change only through
change requests), and close it, which scores every live key result and objective in the
same save. Sealing a closed cycle is in ``services.application.snapshots``."""

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from events import Cycle
from events.values import TargetKind
from services.application.guard import Guard
from services.application.ledger_base import LedgerBase, Recorded, retry_on_conflict
from services.application.principals import Principal, Role


class CycleCommands:
    """Open, lock and close cycles; executives and admins only."""

    def __init__(self, store: LedgerBase, guard: Guard) -> None:
        self.store = store
        self.guard = guard

    @retry_on_conflict
    def open_cycle(
        self, principal: Principal, name: str, starts_on: date, ends_on: date
    ) -> Recorded:
        principal.require(Role.EXECUTIVE, Role.ADMIN, to="open a cycle")
        stamp = self.store.stamp(principal)
        cycle = Cycle.open(name, starts_on, ends_on, stamp)
        after = {"name": cycle.name, "starts_on": str(starts_on), "ends_on": str(ends_on)}
        allowed = self.guard.check(
            self.store, principal, "cycle.open", TargetKind.CYCLE, None, None, after
        )
        return self.guard.commit(self.store, allowed, stamp, cycle)

    @retry_on_conflict
    def lock_cycle(self, principal: Principal, cycle_id: UUID) -> Recorded:
        """Lock the cycle; the guardrails see the latest confidence of every key result."""
        principal.require(Role.EXECUTIVE, Role.ADMIN, to="lock a cycle")
        store = self.store
        cycle = store.load(Cycle, cycle_id)
        stamp = store.stamp(principal)
        cycle.lock(stamp)
        key_results = [kr for o in store.live_objectives(cycle) for kr in store.live_key_results(o)]
        allowed = self.guard.check(
            store, principal, "cycle.lock", TargetKind.CYCLE, cycle.id, None, None,
            cycle=cycle, cycle_key_results=key_results,
        )  # fmt: skip
        return self.guard.commit(store, allowed, stamp, cycle)

    @retry_on_conflict
    def close_cycle(self, principal: Principal, cycle_id: UUID) -> Recorded:
        """Close the cycle and score every live key result and objective in one save."""
        principal.require(Role.EXECUTIVE, Role.ADMIN, to="close a cycle")
        store = self.store
        stamp = store.stamp(principal)
        cycle = store.load(Cycle, cycle_id)
        cycle.close(stamp)
        allowed = self.guard.check(
            store, principal, "cycle.close", TargetKind.CYCLE, cycle.id, None, None, cycle=cycle
        )
        scored: list[Aggregate] = []
        for objective in store.live_objectives(cycle, to_change=True):
            scores: dict[str, float] = {}
            for key_result in store.live_key_results(objective, to_change=True):
                scores[str(key_result.id)] = key_result.record_score(stamp)
                scored.append(key_result)
            objective.record_score(scores, stamp)
            scored.append(objective)
        return self.guard.commit(store, allowed, stamp, cycle, *scored)
