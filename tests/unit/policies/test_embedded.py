"""The embedded engine: thread safety, bundle reloads, errors, no state between calls."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.engine import PolicyCompileError, PolicyEngine, PolicyEvaluationError, Verdict

InputFactory = Callable[..., dict[str, Any]]

DIVIDES = """package okrgov.guardrails

deny contains {"rule": "ratio", "message": sprintf("ratio %v", [1 / input.n])} if input.n >= 0
"""


def test_it_is_a_policy_engine(engine: EmbeddedEngine) -> None:
    checked: PolicyEngine = engine
    assert checked is engine


def test_evaluations_leave_nothing_behind(
    engine: EmbeddedEngine, key_result_input: InputFactory
) -> None:
    bad = key_result_input(pay_linked=True, risk_domain="conduct", risk_rating=5)
    good = key_result_input()
    for _ in range(3):
        assert {v.rule for v in engine.evaluate(bad).deny} == {"pay_linked", "risk_appetite"}
        assert engine.evaluate(good) == Verdict(deny=[], warn=[])


def test_concurrent_evaluations_from_many_threads_are_correct(
    shipped: PolicyBundle, key_result_input: InputFactory
) -> None:
    engine = EmbeddedEngine(shipped)  # loaded on this thread, evaluated on the pool's
    docs = [key_result_input(pay_linked=i % 2 == 0, baseline=i, target=i + 10) for i in range(200)]

    def rules(doc: dict[str, Any]) -> set[str]:
        return {v.rule for v in engine.evaluate(doc).deny}

    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(rules, docs))
    assert found == [{"pay_linked"} if i % 2 == 0 else set() for i in range(200)]


def test_loading_a_bundle_reaches_every_thread(
    shipped: PolicyBundle, key_result_input: InputFactory
) -> None:
    engine = EmbeddedEngine(shipped)
    doc = key_result_input(risk_domain="investment", risk_rating=4)
    worker = ThreadPoolExecutor(max_workers=1)
    try:
        assert worker.submit(engine.evaluate, doc).result().allowed
        data = json.loads(json.dumps(shipped.data))
        data["risk_appetite"]["investment"] = 3
        engine.load(PolicyBundle(shipped.modules, data))
        verdict = worker.submit(engine.evaluate, doc).result()
        assert [v.rule for v in verdict.deny] == ["risk_appetite"]
        assert engine.evaluate(doc) == verdict
    finally:
        worker.shutdown()


def test_a_bundle_that_does_not_compile_is_refused_and_the_old_one_kept(
    shipped: PolicyBundle, key_result_input: InputFactory
) -> None:
    engine = EmbeddedEngine(shipped)
    broken = PolicyBundle({"guardrails.rego": "package okrgov.guardrails\n\ndeny contains"}, {})
    with pytest.raises(PolicyCompileError):
        engine.load(broken)
    assert engine.bundle is shipped
    assert "pay_linked" in {v.rule for v in engine.evaluate(key_result_input(pay_linked=True)).deny}


def test_a_runtime_error_in_a_rule_is_an_evaluation_error() -> None:
    engine = EmbeddedEngine(PolicyBundle({"guardrails.rego": DIVIDES}, {}))
    assert engine.evaluate({"n": 4}) == Verdict.of([{"rule": "ratio", "message": "ratio 0.25"}], [])
    with pytest.raises(PolicyEvaluationError, match="divide by zero"):
        engine.evaluate({"n": 0})
    assert engine.evaluate({"n": 2}).deny[0].message == "ratio 0.5"


def test_evaluating_before_loading_is_an_error() -> None:
    with pytest.raises(PolicyEvaluationError, match="no policy bundle loaded"):
        EmbeddedEngine().evaluate({})


def test_an_engine_made_on_another_thread_works_here(
    shipped: PolicyBundle, key_result_input: InputFactory
) -> None:
    made: list[EmbeddedEngine] = []
    thread = threading.Thread(target=lambda: made.append(EmbeddedEngine(shipped)))
    thread.start()
    thread.join()
    assert made[0].evaluate(key_result_input()).allowed


def test_input_that_is_not_json_is_refused(engine: EmbeddedEngine) -> None:
    with pytest.raises(TypeError):
        engine.evaluate({"when": object()})
