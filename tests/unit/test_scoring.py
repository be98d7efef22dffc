"""Scoring rules: clamped linear progress by direction; milestones met or not."""

import pytest

from events.scoring import score_key_result, score_objective
from events.values import Direction


@pytest.mark.parametrize(
    ("baseline", "target", "final", "direction", "expected"),
    [
        (0, 100, 50, Direction.INCREASE, 0.5),
        (0, 100, 150, Direction.INCREASE, 1.0),
        (0, 100, -20, Direction.INCREASE, 0.0),
        (15, 8, 13, Direction.DECREASE, 0.2857),
        (15, 8, 8, Direction.DECREASE, 1.0),
        (15, 8, 20, Direction.DECREASE, 0.0),
        (0, 1, 1, Direction.MILESTONE, 1.0),
        (0, 1, 0.99, Direction.MILESTONE, 0.0),
        (10, 0, 0, Direction.MILESTONE, 1.0),
    ],
)
def test_key_result_score(
    baseline: float, target: float, final: float, direction: Direction, expected: float
) -> None:
    assert score_key_result(baseline, target, final, direction) == expected


def test_objective_score_is_the_mean_and_zero_without_key_results() -> None:
    assert score_objective([1.0, 0.5, 0.0]) == 0.5
    assert score_objective([]) == 0.0
