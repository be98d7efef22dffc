"""Commands on key results: add one to an objective (before lock), revise or retire it
(before lock; after lock through a change request), and check in on it (any time the
cycle is open)."""

from datetime import date
from typing import Any
from uuid import UUID

from events import Cycle, KeyResult, Objective
from events.key_result_definition import OPTIONAL_FIELDS
from events.values import TargetKind
from services.application.guard import Guard
from services.application.ledger_base import LedgerBase, Recorded, retry_on_conflict
from services.application.principals import Principal


class KeyResultCommands:
    """Who may act on a key result: its owner, its objective's owner, or an executive."""

    def __init__(self, store: LedgerBase, guard: Guard) -> None:
        self.store = store
        self.guard = guard

    @retry_on_conflict
    def add_key_result(
        self, principal: Principal, objective_id: UUID, definition: dict[str, Any]
    ) -> Recorded:
        store = self.store
        objective = store.load(Objective, objective_id)
        principal.require_owner_or_executive([objective.owner], to="add key results here")
        cycle = store.load(Cycle, objective.cycle_id, to_change=False)
        cycle.require_open()
        after = {**dict.fromkeys(OPTIONAL_FIELDS), **definition}
        allowed = self.guard.check(
            store, principal, "key_result.add", TargetKind.KEY_RESULT, None, None, after,
            objective=objective, cycle=cycle, siblings=store.live_key_results(objective),
        )  # fmt: skip
        stamp = store.stamp(principal)
        key_result = KeyResult.add(objective.id, cycle.id, definition, stamp, cycle.state)
        objective.attach_key_result(key_result.id, stamp)
        return self.guard.commit(store, allowed, stamp, key_result, objective)

    @retry_on_conflict
    def revise_key_result(
        self,
        principal: Principal,
        key_result_id: UUID,
        changes: dict[str, Any],
        reason: str | None,
    ) -> Recorded:
        key_result, objective, cycle = self._writable(
            principal, key_result_id, "revise this key result"
        )
        allowed = self.guard.check_key_result(
            self.store, principal, "key_result.revise", key_result, objective, cycle,
            {**key_result.definition, **changes},
        )  # fmt: skip
        stamp = self.store.stamp(principal)
        key_result.revise(changes, reason, cycle.state, stamp)
        return self.guard.commit(self.store, allowed, stamp, key_result)

    @retry_on_conflict
    def retire_key_result(
        self, principal: Principal, key_result_id: UUID, reason: str | None
    ) -> Recorded:
        key_result, objective, cycle = self._writable(
            principal, key_result_id, "retire this key result"
        )
        allowed = self.guard.check_key_result(
            self.store, principal, "key_result.retire", key_result, objective, cycle, None
        )
        stamp = self.store.stamp(principal)
        key_result.retire(reason, cycle.state, stamp)
        return self.guard.commit(self.store, allowed, stamp, key_result)

    @retry_on_conflict
    def check_in(
        self,
        principal: Principal,
        key_result_id: UUID,
        value: float,
        confidence: float,
        note: str = "",
        effective_on: date | None = None,
    ) -> Recorded:
        """Record a check-in; ``effective_on`` is the date of the week it reports (today
        if not given; not in the future, not outside the cycle)."""
        key_result, objective, cycle = self._writable(
            principal, key_result_id, "check in on this key result"
        )
        after = {**key_result.definition, "value": value, "confidence": confidence}
        allowed = self.guard.check(
            self.store, principal, "key_result.check_in", TargetKind.KEY_RESULT, key_result.id,
            key_result.definition, after, objective=objective, cycle=cycle,
        )  # fmt: skip
        stamp = self.store.stamp(principal)
        key_result.check_in(value, confidence, note, cycle, stamp, effective_on)
        return self.guard.commit(self.store, allowed, stamp, key_result)

    def _writable(
        self, principal: Principal, key_result_id: UUID, to: str
    ) -> tuple[KeyResult, Objective, Cycle]:
        """The key result with its objective and cycle, if the principal may act on it."""
        key_result, objective, cycle = self.store.key_result_context(key_result_id)
        principal.require_owner_or_executive([key_result.owner, objective.owner], to=to)
        return key_result, objective, cycle
