"""Scoring rules: a key result's score from baseline, target and final value; an objective's
score from its key results. Each rule has a name and version recorded with every score."""

from collections.abc import Sequence
from dataclasses import dataclass

from events.values import Direction


@dataclass(frozen=True)
class ScoringRule:
    name: str
    version: int


KEY_RESULT_RULE = ScoringRule("linear-clamped", 1)
OBJECTIVE_RULE = ScoringRule("mean-of-key-results", 1)


def score_key_result(baseline: float, target: float, final: float, direction: Direction) -> float:
    """Progress from baseline to target, clamped to [0, 1]; a milestone is met or not."""
    if direction == Direction.MILESTONE:
        reached = final >= target if target >= baseline else final <= target
        return 1.0 if reached else 0.0
    progress = (final - baseline) / (target - baseline)
    return round(min(1.0, max(0.0, progress)), 4)


def score_objective(key_result_scores: Sequence[float]) -> float:
    """The mean of the key results' scores; an objective with none scores 0."""
    if not key_result_scores:
        return 0.0
    return round(sum(key_result_scores) / len(key_result_scores), 4)
