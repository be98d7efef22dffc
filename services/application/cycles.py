"""Commands on a cycle: open it, lock it (from then on its key results change only through
change requests), and close it, which scores every live key result and objective in the
same save. Sealing a closed cycle is in ``services.application.snapshots``.

A cycle's name is unique (``events.cycle_name``): opening a cycle reserves its name in the
same save, and a name taken answers ``CycleNameTaken`` naming the cycle that has it. A
cycle opened before names were reserved has no reservation, so its name is found by
reading the store's ``Cycle.Created`` events (``NamesOfOldCycles``)."""

import threading
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from events import Cycle
from events.cycle_name import CycleName, CycleNameTaken, compared, reservation_id
from events.values import TargetKind
from services.application.guard import Guard
from services.application.ledger_base import LedgerBase, Recorded, retry_on_conflict
from services.application.principals import Principal, Role


class NamesOfOldCycles:
    """The compared names of the cycles in the store (the first cycle of each name), read
    from its ``Cycle.Created`` events: for cycles recorded before names were reserved.
    Each look-up reads only the events recorded since the last one."""

    PAGE = 500

    def __init__(self, store: LedgerBase) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._names: dict[str, UUID] = {}
        self._read_to = 0
        self._topic = get_topic(Cycle.Created)

    def holder(self, name: str) -> UUID | None:
        """The cycle first opened under this name (as names compare), if any."""
        with self._lock:
            while True:
                page = self.store.recorder.select_notifications(
                    self._read_to + 1, self.PAGE, topics=[self._topic]
                )
                for notification in page:
                    created: Any = self.store.mapper.to_domain_event(notification)
                    self._names.setdefault(compared(created.name), created.originator_id)
                    self._read_to = notification.id
                if len(page) < self.PAGE:
                    break
            return self._names.get(compared(name))


class CycleCommands:
    """Open, lock and close cycles; executives and admins only."""

    def __init__(self, store: LedgerBase, guard: Guard) -> None:
        self.store = store
        self.guard = guard
        self.old_names = NamesOfOldCycles(store)

    def require_free_name(self, name: str) -> None:
        """``CycleNameTaken`` when a cycle has this name (as names compare): its
        reservation, or a cycle recorded before names were reserved."""
        try:
            reserved: CycleName = self.store.repository.get(
                reservation_id(name), deepcopy_from_cache=False
            )
            holder: UUID | None = reserved.cycle_id
        except AggregateNotFoundError:
            holder = self.old_names.holder(name)
        if holder is not None:
            cycle = self.store.load(Cycle, holder, to_change=False)
            raise CycleNameTaken(name, cycle.id, cycle.name, cycle.starts_on, cycle.ends_on)

    @retry_on_conflict
    def open_cycle(
        self, principal: Principal, name: str, starts_on: date, ends_on: date
    ) -> Recorded:
        principal.require(Role.EXECUTIVE, Role.ADMIN, to="open a cycle")
        stamp = self.store.stamp(principal)
        cycle = Cycle.open(name, starts_on, ends_on, stamp)
        # Before the guardrails, so a taken name records no decision; a cycle of this
        # name saved meanwhile makes the save below conflict on the reservation, and the
        # retry finds the name taken.
        self.require_free_name(cycle.name)
        reservation = CycleName.reserve(cycle.name, cycle.id, stamp)
        after = {"name": cycle.name, "starts_on": str(starts_on), "ends_on": str(ends_on)}
        allowed = self.guard.check(
            self.store, principal, "cycle.open", TargetKind.CYCLE, None, None, after
        )
        return self.guard.commit(self.store, allowed, stamp, cycle, reservation)

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
    def close_cycle(
        self, principal: Principal, cycle_id: UUID, reason: str | None = None
    ) -> Recorded:
        """Close the cycle and score every live key result and objective in one save;
        before the cycle's end date only with a ``reason`` (recorded on the close)."""
        principal.require(Role.EXECUTIVE, Role.ADMIN, to="close a cycle")
        store = self.store
        stamp = store.stamp(principal)
        cycle = store.load(Cycle, cycle_id)
        cycle.close(stamp, reason)
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
