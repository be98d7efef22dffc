"""Every ledger command on eventsourcing's in-memory (POPO) store, with a fake decision
point (``tests/ledger_doubles.py``): the ledger, its decision point and a planned quarter."""

import pytest
from ledger_doubles import FakeDecisionPoint, Quarter, memory_ledger, plan_quarter

from services.application.ledger import Ledger


@pytest.fixture
def point() -> FakeDecisionPoint:
    return FakeDecisionPoint()


@pytest.fixture
def ledger(point: FakeDecisionPoint) -> Ledger:
    return memory_ledger(point)


@pytest.fixture
def quarter(ledger: Ledger) -> Quarter:
    return plan_quarter(ledger)
