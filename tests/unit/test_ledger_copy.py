"""A command changes a copy of a cached aggregate (``ledger_base.copy_to_change``), one
level deep instead of eventsourcing's deep copy: the cache must never see a change that
was not saved, and the domain must keep changing its aggregates only one level deep."""

import ast
from pathlib import Path

import pytest
from ledger_doubles import EXEC, IN_MEMORY, TOM, FakeDecisionPoint, plan_quarter

from events import Cycle, KeyResult, Objective, Stamp
from services.application.guard import Guard
from services.application.ledger import Ledger
from services.application.ledger_base import copy_to_change

EVENTS = Path(__file__).resolve().parents[2] / "events"
#: Methods that change a container in place.
IN_PLACE = {"append", "extend", "insert", "remove", "pop", "clear", "update", "add",
            "discard", "setdefault", "sort", "reverse", "popitem"}  # fmt: skip


@pytest.fixture
def ledger() -> Ledger:
    """A ledger with an aggregate cache, as every okrgov process has."""
    env = {**IN_MEMORY, "AGGREGATE_CACHE_MAXSIZE": "100"}
    ledger = Ledger(env=env, guard=Guard(FakeDecisionPoint()))
    ledger.seed_policy()
    return ledger


def test_changing_the_copy_leaves_the_cached_aggregate_as_it_was(ledger: Ledger) -> None:
    quarter = plan_quarter(ledger)
    ledger.lock_cycle(EXEC, quarter.cycle.id)
    cached = ledger.load(KeyResult, quarter.key_result.id, to_change=False)
    copy = copy_to_change(cached)
    cycle = ledger.load(Cycle, quarter.cycle.id, to_change=False)
    copy.check_in(5.0, 0.5, "on the copy", cycle, Stamp("tom", "c1"))
    assert cached.check_ins == []
    assert cached.collect_events() == []
    assert copy.check_ins == [(5.0, 0.5, "on the copy")]


def test_a_saved_command_reaches_the_cache_once(ledger: Ledger) -> None:
    quarter = plan_quarter(ledger)
    ledger.lock_cycle(EXEC, quarter.cycle.id)
    for value in (1.0, 2.0):
        ledger.check_in(TOM, quarter.key_result.id, value, 0.5, "weekly")
    cached = ledger.load(KeyResult, quarter.key_result.id, to_change=False)
    assert [c[0] for c in cached.check_ins] == [1.0, 2.0]
    objective = ledger.load(Objective, quarter.objective.id, to_change=False)
    assert objective.key_result_ids == [quarter.key_result.id]


def test_the_domain_changes_containers_only_on_its_attributes() -> None:
    """``copy_to_change`` copies each attribute's list, dict or set, not what they hold:
    ``self.items.append(x)`` is safe, ``self.items[0].append(x)`` would change the cache."""
    nested = []
    for path in sorted(EVENTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            target = node.func.value
            if node.func.attr in IN_PLACE and _below_an_attribute_of_self(target):
                nested.append(f"{path.name}:{node.lineno}")
    assert nested == []


def _below_an_attribute_of_self(node: ast.expr) -> bool:
    """``self.a[...]`` or ``self.a.b``: deeper than one attribute of self."""
    if isinstance(node, ast.Subscript) or (
        isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
    ):
        node = node.value
    else:
        return False
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return isinstance(node, ast.Name) and node.id == "self"
