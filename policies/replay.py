"""Judging a recorded guardrail decision again: the one comparison behind ``okrgov
decisions replay`` (the recorded input under today's engines: every decision
replayable) and the what-if's ``replayed_decisions`` (the recorded input under a proposed
version, inside a review worker).

A decision is replayable when its outcome was an answer of the policies (allowed or
denied: an engine failure at the time has no answer to compare with) and it kept its
input document (decisions recorded before class version 3 did not). Its input must still
be the document it was judged on: SHA-256 of its canonical JSON is the recorded
``input_digest``; an input that fails it was altered after the fact and is not judged.

Answers compare in full: the outcome, and the deny and warn sets of ``{rule, message}``,
so a rule that still fires with other words is a difference too. Pure: the caller hands
the evaluation (``judge``'s ``evaluate``) of whichever engine and version it chose."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from events.decision import ALLOWED, DENIED, ERROR
from policies.bundle import input_digest
from policies.engine import PolicyError, Verdict, Violation

Evaluate = Callable[[dict[str, Any]], Verdict]


class Replayability(StrEnum):
    """Why a recorded decision is, or is not, judged again."""

    REPLAYABLE = "replayable"
    ENGINE_ERROR = "engine_error"
    """The engine failed when the decision was made: there is no answer to compare with."""
    NO_INPUT = "no_input"
    """Recorded before decisions kept their input document."""
    INPUT_MISMATCH = "input_mismatch"
    """The kept input no longer has the recorded digest: it was altered."""


@dataclass(frozen=True)
class Answer:
    """What the guardrails said: the outcome, the deny and warn sets, and the error of an
    evaluation that failed (outcome ``error``)."""

    outcome: str
    deny: frozenset[Violation] = frozenset()
    warn: frozenset[Violation] = frozenset()
    error: str | None = None

    @classmethod
    def recorded(
        cls, outcome: str, deny: Iterable[Mapping[str, str]], warn: Iterable[Mapping[str, str]]
    ) -> Answer:
        """The answer a decision recorded (its ``deny`` and ``warn`` as stored)."""
        return cls(outcome, _violations(deny), _violations(warn))

    @classmethod
    def of(cls, verdict: Verdict) -> Answer:
        return cls(
            ALLOWED if verdict.allowed else DENIED, frozenset(verdict.deny), frozenset(verdict.warn)
        )

    @classmethod
    def failed(cls, error: str) -> Answer:
        return cls(ERROR, error=error)

    def as_json(self) -> dict[str, Any]:
        """``{"outcome", "deny", "warn", "error"}`` with the sets as sorted lists."""
        return {
            "outcome": self.outcome,
            "deny": _items(self.deny),
            "warn": _items(self.warn),
            "error": self.error,
        }


@dataclass(frozen=True)
class Difference:
    """How the answer now differs from the recorded one."""

    recorded: Answer
    now: Answer

    @property
    def outcome_differs(self) -> bool:
        return self.recorded.outcome != self.now.outcome

    @property
    def aspects(self) -> list[str]:
        """Which of ``outcome``, ``deny``, ``warn`` differ."""
        found = [("outcome", self.outcome_differs)]
        found += [("deny", self.recorded.deny != self.now.deny)]
        found += [("warn", self.recorded.warn != self.now.warn)]
        return [name for name, differs in found if differs]

    def as_json(self, now_is: str = "now") -> dict[str, Any]:
        """The outcomes, and per set the items only in the recorded answer and only in
        the answer now (named ``now_is``: ``only_now``, or ``only_proposed`` for a
        what-if)."""
        was, now = self.recorded, self.now
        return {
            "differs_in": self.aspects,
            "outcome": {"recorded": was.outcome, now_is: now.outcome},
            "deny": {
                "only_recorded": _items(was.deny - now.deny),
                f"only_{now_is}": _items(now.deny - was.deny),
            },
            "warn": {
                "only_recorded": _items(was.warn - now.warn),
                f"only_{now_is}": _items(now.warn - was.warn),
            },
            "error": now.error,
        }


def compare(recorded: Answer, now: Answer) -> Difference | None:
    """The difference between two answers, or None when they are the same."""
    difference = Difference(recorded, now)
    return difference if difference.aspects else None


def replayability(outcome: str, input: Any, digest: str) -> Replayability:
    """Whether a recorded decision can be judged again (see the module docstring)."""
    if outcome not in (ALLOWED, DENIED):
        return Replayability.ENGINE_ERROR
    if input is None:
        return Replayability.NO_INPUT
    if not input_intact(input, digest):
        return Replayability.INPUT_MISMATCH
    return Replayability.REPLAYABLE


def input_intact(input: Any, digest: str) -> bool:
    """Whether the input document still has the digest recorded with it."""
    if not isinstance(input, dict):
        return False
    try:
        return input_digest(input) == digest
    except (TypeError, ValueError):  # no longer JSON at all
        return False


def judge(recorded: Answer, input: dict[str, Any], evaluate: Evaluate) -> Difference | None:
    """Evaluate the recorded input again and compare; an evaluation that fails is the
    answer ``error`` (a difference, since the recorded one was an answer)."""
    try:
        now = Answer.of(evaluate(input))
    except PolicyError as exc:
        now = Answer.failed(str(exc))
    return compare(recorded, now)


def _violations(items: Iterable[Mapping[str, str]]) -> frozenset[Violation]:
    return frozenset(Violation(str(i["rule"]), str(i["message"])) for i in items)


def _items(violations: Iterable[Violation]) -> list[dict[str, str]]:
    return [{"rule": v.rule, "message": v.message} for v in sorted(violations)]
