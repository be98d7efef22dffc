"""A ruling names the version that judged it, even when a new version is being loaded while
the decision is made (the decision is made again under the new one)."""

from __future__ import annotations

import threading
from typing import Any

from policies.bundle import PolicyBundle
from policies.decision_point import DecisionPoint
from policies.embedded import EmbeddedEngine
from policies.engine import Verdict


class LoadDuringEvaluation(EmbeddedEngine):
    """The real engine; its first evaluation lets another thread activate version 2 while
    it is under way, and returns what version 1 said."""

    def __init__(self, bundle: PolicyBundle, point: list[DecisionPoint], next_: PolicyBundle):
        super().__init__(bundle)
        self.point, self.next_ = point, next_
        self.evaluations = 0

    def evaluate_text(self, text: str) -> Verdict:  # what DecisionPoint.decide calls
        self.evaluations += 1
        verdict = super().evaluate_text(text)
        if self.evaluations == 1:
            other = threading.Thread(target=self.point[0].ensure, args=(2, "v2", self._next))
            other.start()
            other.join()
        return verdict

    def _next(self) -> PolicyBundle:
        return self.next_


def test_a_decision_made_across_an_activation_names_the_version_that_judged_it(
    shipped: PolicyBundle, key_result_input: Any
) -> None:
    no_more = {**shipped.data, "limits": {**shipped.data["limits"]}}
    no_more["limits"]["max_key_results_per_objective"] = 1  # version 2 denies a second one
    version_2 = PolicyBundle(modules=shipped.modules, data=no_more)
    point: list[DecisionPoint] = []
    engine = LoadDuringEvaluation(shipped, point, version_2)
    point.append(DecisionPoint(engine))
    point[0].ensure(1, "v1", lambda: shipped)
    ruling = point[0].decide(key_result_input())  # a second key result for its objective
    assert engine.evaluations == 2  # made again once version 2 was in
    assert (ruling.policy_version, ruling.bundle_digest) == (2, "v2")
    assert [v.rule for v in ruling.verdict.deny] == ["key_result_limit"]
