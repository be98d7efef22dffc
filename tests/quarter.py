"""Principals and a planned quarter shared by the integration tests."""

import itertools
from datetime import date

import pytest
from okr_builders import definition

from events.cycle_name import CycleNameTaken
from policies.bundle import load_shipped_bundle
from services.application.errors import GuardrailViolation
from services.application.ledger import Recorded
from services.application.principals import Principal
from services.bootstrap import Platform

EXEC = Principal.of("priya", ["executive"])
TOM = Principal.of("tom", ["member"])
LENA = Principal.of("lena", ["member"])
RITA = Principal.of("rita", ["risk_officer"])
RAJ = Principal.of("raj", ["risk_officer"])
SAM = Principal.of("sam", ["admin"])


def open_quarter(platform: Platform) -> Recorded:
    """The cycle 2026-Q4, or "2026-Q4 (2)" and on when the store has it (names are unique)."""
    for n in itertools.count(1):
        name = "2026-Q4" if n == 1 else f"2026-Q4 ({n})"
        try:
            return platform.ledger.open_cycle(EXEC, name, date(2026, 10, 1), date(2026, 12, 31))
        except CycleNameTaken:
            continue
    raise AssertionError("unreachable")


def plan_quarter(platform: Platform) -> tuple[Recorded, Recorded, Recorded]:
    """A cycle with Priya's company objective and Tom's key result on it."""
    ledger = platform.ledger
    cycle = open_quarter(platform)
    objective = ledger.create_objective(
        EXEC, cycle.id, "Strengthen our operational infrastructure", "priya", "company", "committed"
    )
    key_result = ledger.add_key_result(EXEC, objective.id, definition())
    return cycle, objective, key_result


def record_governed_quarter(platform: Platform) -> None:
    """A quarter with an aligned objective, a denied pay-linked key result, revisions
    before lock, a policy version proposed and approved, check-ins, a change request
    approved and one rejected, the close (scores) and the seal."""
    ledger = platform.ledger
    cycle, objective, key_result = plan_quarter(platform)
    lena = ledger.create_objective(
        EXEC, cycle.id, "Keep our fund administration reliable", "lena", "team", "committed",
        parent_id=objective.id,
    )  # fmt: skip
    other = ledger.add_key_result(
        EXEC, lena.id, definition(title="Fund admin errors", owner="lena", unit="errors")
    )
    with pytest.raises(GuardrailViolation):
        ledger.add_key_result(EXEC, objective.id, definition(title="Bonus pool", pay_linked=True))
    ledger.revise_key_result(EXEC, key_result.id, {"target": 9}, "the board asked for more")
    ledger.check_in(TOM, key_result.id, 13, 0.6, "fund admin data late again")
    bundle = load_shipped_bundle()
    appetite = {**bundle.data["risk_appetite"], "investment": 3}
    proposed = ledger.propose_policy(
        RITA, bundle.modules, {**bundle.data, "risk_appetite": appetite}, "Less investment risk"
    )
    ledger.approve_policy(RAJ, proposed.id)
    ledger.revise_objective(EXEC, lena.id, description="Errors found by the administrator")
    ledger.lock_cycle(EXEC, cycle.id)
    for week in range(4):
        ledger.check_in(TOM, key_result.id, 12 - week, 0.6 + week / 10, f"week {week + 1}")
        ledger.check_in(LENA, other.id, 9 - week, 0.5, f"week {week + 1}")
    moved = ledger.request_change(TOM, key_result.id, {"target": 10}, "migration slipped")
    ledger.approve_change(EXEC, moved.id, "agreed")
    dropped = ledger.request_change(LENA, other.id, {"target": 2}, "the tool is late")
    ledger.reject_change(EXEC, dropped.id, "keep the target")
    ledger.close_cycle(EXEC, cycle.id, "closed before its end date in a test")
    ledger.seal_cycle(SAM, cycle.id)
