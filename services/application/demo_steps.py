"""How the demo records its history: as a list of steps, each a command of one person at a
simulated moment, run in time order through the ledger, as real use would record them.

Each step runs inside ``events.clock.at(moment)`` (its events carry that time, its
check-in's ``today`` is that day), ``events.clock.seeded_ids`` (its new aggregates and
decisions get the same ids on every load) and a correlation id of its own, derived from
the seed and the step. Steps later than the demo's "now" are not run: the current quarter
stops at today. A command the guardrails deny is an expected step (the denial is recorded
as a decision, which is the point); it is counted, not raised."""

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from events import clock
from infra.logging import correlated
from services.application.demo_people import BY_ID
from services.application.errors import GuardrailViolation
from services.application.ledger import Ledger, Recorded
from services.application.principals import Principal

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Step:
    at: datetime
    label: str
    """Unique within the demo: it seeds the step's ids and correlation id."""
    phase: str
    """What the progress callback is told when the demo reaches this step."""
    action: Callable[[], None]


class DemoRun:
    """The steps of one demo load, the ids they created (by the demo's own keys) and what
    they recorded (check-ins, denials, warnings...)."""

    def __init__(self, ledger: Ledger, seed: str, until: datetime, progress: Progress | None):
        self.ledger = ledger
        self.seed = seed
        self.until = until
        self.progress = progress
        self.ids: dict[str, UUID] = {}
        self.counts: Counter[str] = Counter()
        self.steps: list[Step] = []
        self.sealed: list[UUID] = []
        """The cycles sealed."""
        self.denials: list[UUID] = []
        """The decisions of the attempts denied so far."""
        self.notes: list[str] = []
        """What the demo did besides recording commands (a what-if's findings...)."""

    def add(self, at: datetime, label: str, phase: str, action: Callable[[], None]) -> None:
        self.steps.append(Step(at, label, phase, action))

    def run(self) -> None:
        """Every step due by ``until``, in time order (steps at one moment in the order
        they were added)."""
        labels = [step.label for step in self.steps]
        assert len(set(labels)) == len(labels), "demo step labels must be unique"
        phase = None
        for step in sorted(self.steps, key=lambda s: s.at):
            if step.at > self.until:
                continue
            if step.phase != phase and self.progress is not None:
                self.progress(step.phase)
            phase = step.phase
            with (
                clock.at(step.at),
                clock.seeded_ids(f"{self.seed}/{step.label}"),
                correlated(self._correlation_id(step.label), demo_step=step.label),
            ):
                step.action()

    def _correlation_id(self, label: str) -> str:
        return hashlib.sha256(f"{self.seed}/{label}".encode()).hexdigest()[:32]

    @staticmethod
    def who(user_id: str) -> Principal:
        """The person as their token would present them."""
        return Principal.of(user_id, [BY_ID[user_id].role])

    def done(self, recorded: Recorded, counted: str | None = None) -> UUID:
        """Count what a command recorded (and its warnings); returns its aggregate's id."""
        if counted:
            self.counts[counted] += 1
        if recorded.warnings:
            self.counts["warned"] += 1
        return recorded.id

    def attempt(self, command: Callable[..., Recorded], *args: Any) -> Recorded | None:
        """A command the guardrails may deny: the denial is recorded by the ledger as a
        decision; here it is counted and remembered (its decision's id), not raised."""
        try:
            recorded = command(*args)
        except GuardrailViolation as denied:
            self.counts["denied"] += 1
            self.counts["warned"] += bool(denied.warn)
            self.denials.append(self._decision_at(denied.position))
            return None
        self.done(recorded)
        return recorded

    def _decision_at(self, position: int) -> UUID:
        """The id of the decision recorded at a position (a denied attempt records only
        its decision)."""
        (notification,) = self.ledger.recorder.select_notifications(position, 1)
        return UUID(str(notification.originator_id))
