"""The ledger in memory, for fast unit tests of its commands (as cosmicpython's
test_handlers.py tests handlers on a fake unit of work): eventsourcing's POPO store, and a
fake decision point that allows or denies by rule and keeps every document it was asked
about. No Rego, no database, no worker process."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from okr_builders import definition

from events import Commitment, Level
from policies.bundle import PolicyBundle, input_digest
from policies.decision_point import Ruling
from policies.engine import PolicyError, Verdict, Violation
from services.application.guard import Guard
from services.application.ledger import Ledger, Recorded
from services.application.principals import Principal

Doc = dict[str, Any]
IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}

EXEC = Principal.of("priya", ["executive"])
TOM = Principal.of("tom", ["member"])
LENA = Principal.of("lena", ["member"])
RITA = Principal.of("rita", ["risk_officer"])
RAJ = Principal.of("raj", ["risk_officer"])
CARA = Principal.of("cara", ["compliance"])


@dataclass(frozen=True)
class Rule:
    """A fake guardrail: ``verdict`` ("deny" or "warn") on ``action`` when ``when`` holds."""

    action: str
    rule: str
    verdict: str
    when: Callable[[Doc], bool]


class FakeDecisionPoint:
    """Allows everything but what a rule denies; records what it was asked and loaded."""

    def __init__(self) -> None:
        self.asked: list[Doc] = []
        self.loaded: list[tuple[int, str]] = []
        self.rules: list[Rule] = []
        self.failure: PolicyError | None = None
        self.closed = False

    def deny(self, action: str, rule: str, when: Callable[[Doc], bool] = lambda _: True) -> None:
        self.rules.append(Rule(action, rule, "deny", when))

    def warn(self, action: str, rule: str, when: Callable[[Doc], bool] = lambda _: True) -> None:
        self.rules.append(Rule(action, rule, "warn", when))

    def ensure(self, number: int, digest: str, bundle: Callable[[], PolicyBundle]) -> None:
        if self.loaded[-1:] != [(number, digest)]:
            assert bundle().digest() == digest  # the guard hands over the active version
            self.loaded.append((number, digest))

    def decide(self, document: Doc) -> Ruling:
        self.asked.append(document)
        if self.failure is not None:
            raise self.failure
        found: dict[str, list[Violation]] = {"deny": [], "warn": []}
        for r in self.rules:
            if r.action == document["action"] and r.when(document):
                found[r.verdict].append(Violation(r.rule, f"{r.rule} says no"))
        number, digest = self.loaded[-1]
        return Ruling(Verdict(found["deny"], found["warn"]), number, digest, input_digest(document))

    def close(self) -> None:
        self.closed = True

    @property
    def actions(self) -> list[str]:
        return [d["action"] for d in self.asked]


def memory_ledger(point: FakeDecisionPoint) -> Ledger:
    """A ledger on the in-memory store, its guard asking ``point``, the shipped policy
    seeded as version 1."""
    ledger = Ledger(env=IN_MEMORY, guard=Guard(point))
    ledger.seed_policy()
    return ledger


def events_after(ledger: Ledger, position: int) -> list[Any]:
    """The domain events recorded after ``position``, in store order."""
    found = ledger.recorder.select_notifications(position + 1, 10_000)
    return [ledger.mapper.to_domain_event(n) for n in found]


def kinds(events: list[Any]) -> list[str]:
    """Event class names as ``Aggregate.Event`` (``Cycle.Locked``)."""
    return [type(e).__qualname__ for e in events]


def last_position(ledger: Ledger) -> int:
    return ledger.recorder.max_notification_id() or 0


@dataclass(frozen=True)
class Quarter:
    """A cycle with Priya's company objective and Tom's key result on it."""

    cycle: Recorded
    objective: Recorded
    key_result: Recorded


def plan_quarter(ledger: Ledger) -> Quarter:
    cycle = ledger.open_cycle(EXEC, "2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    objective = ledger.create_objective(
        EXEC, cycle.id, "Strengthen operations", "priya", Level.COMPANY, Commitment.COMMITTED
    )
    key_result = ledger.add_key_result(EXEC, objective.id, definition())
    return Quarter(cycle, objective, key_result)
