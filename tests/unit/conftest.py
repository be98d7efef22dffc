"""Domain objects for the unit tests: a cycle, a company objective, a key result."""

from datetime import date

import pytest
from okr_builders import PRIYA, definition

from events import Cycle, KeyResult, Objective


@pytest.fixture
def cycle() -> Cycle:
    return Cycle.open("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), PRIYA)


@pytest.fixture
def objective(cycle: Cycle) -> Objective:
    return Objective.create(
        cycle.id, "Strengthen operations", "", "priya", "company", "committed", None, PRIYA
    )


@pytest.fixture
def key_result(cycle: Cycle, objective: Objective) -> KeyResult:
    return KeyResult.add(objective.id, cycle.id, definition(), PRIYA)
