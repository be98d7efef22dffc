"""Principals and a planned quarter shared by the integration tests."""

from datetime import date

from okr_builders import definition

from services.bootstrap import Platform
from services.ledger import Recorded
from services.principals import Principal

EXEC = Principal.of("priya", ["executive"])
TOM = Principal.of("tom", ["member"])


def plan_quarter(platform: Platform) -> tuple[Recorded, Recorded, Recorded]:
    """A cycle with Priya's company objective and Tom's key result on it."""
    ledger = platform.ledger
    cycle = ledger.open_cycle(EXEC, "2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    objective = ledger.create_objective(
        EXEC, cycle.id, "Strengthen our operational infrastructure", "priya", "company", "committed"
    )
    key_result = ledger.add_key_result(EXEC, objective.id, definition())
    return cycle, objective, key_result
