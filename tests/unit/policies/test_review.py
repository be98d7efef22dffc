"""Reviews (proposal checks, what-ifs) run in workers of their own, a bounded number at a
time: one that finds every slot taken for the whole review budget is refused."""

from __future__ import annotations

import threading

import pytest

from policies.engine import PolicyEvaluationError
from policies.review import PolicyReviews, ReviewsBusy, ReviewTimeout
from policies.sandbox import Budgets

FOREVER = "package x\n\nimport rego.v1\n\nslow if {\n\tevery i in numbers.range(1, 10000) {\n\t\tevery j in numbers.range(1, 10000) { i + j > 0 }\n\t}\n}\n"  # noqa: E501


def test_a_review_waits_for_a_slot_then_is_refused_and_none_starts_after_close() -> None:
    reviews = PolicyReviews(Budgets(decision=0.5, start=10, review=1), concurrency=1)
    holding, release = threading.Event(), threading.Event()
    outcome: list[BaseException] = []

    def hold() -> None:
        with reviews.review("a long what-if") as session:
            session.ask({"op": "load", "slot": "x", "modules": {"x.rego": FOREVER}, "data": {}},
                        "loading", 5)  # fmt: skip
            holding.set()
            try:
                session.ask({"op": "probe", "slot": "x", "rule": "data.x.slow", "input": "{}"},
                            "probing", session.remaining)  # fmt: skip
            except ReviewTimeout as exc:
                outcome.append(exc)
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        holding.wait(10)
        assert reviews.running == 1
        with pytest.raises(ReviewsBusy, match="1 policy review"), reviews.review("another"):
            pass
    finally:
        release.set()
        holder.join()
    assert len(outcome) == 1 and "1 s budget" in str(outcome[0])
    assert reviews.running == 0
    reviews.close()
    with pytest.raises(PolicyEvaluationError, match="stopped"), reviews.review("late"):
        pass
