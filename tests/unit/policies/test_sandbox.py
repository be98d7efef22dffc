"""The sandboxed engine: decisions in worker processes, each under its time budget.

regorus holds the GIL for a whole evaluation, so these tests check what only a process
can give: a slow rule is stopped at the budget (the caller fails closed), the other
worker keeps deciding meanwhile, a worker that dies is replaced, and closing the engine
stops every worker. No test asserts a duration."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from policy_bundles import SHIPPED, shipped_with, slow_rule

from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.engine import PolicyEngine, PolicyEvaluationError, PolicyTimeout
from policies.sandbox import Budgets, PolicyWorkerFailed
from policies.sandboxed import SandboxedEngine

InputFactory = Callable[..., dict[str, Any]]

#: Slow only for a key result titled "heavy": the shipped tests never build one.
HEAVY = slow_rule("heavy_title", 'input.resource.after.title == "heavy"')
#: Runs out of memory (the worker's limit) for a key result titled "huge".
HUGE = """
huge := count([x | some x in numbers.range(1, 400000000)]) if input.resource.after.title == "huge"

deny contains violation("huge", "never seen") if huge > 0
"""


@pytest.fixture
def sandboxed() -> Iterator[SandboxedEngine]:
    engine = SandboxedEngine(2, Budgets(decision=0.5, start=10))
    engine.load(shipped_with(HEAVY + HUGE))
    try:
        yield engine
    finally:
        engine.close()


def test_it_is_a_policy_engine_with_the_embedded_engines_verdicts(
    sandboxed: SandboxedEngine,
    key_result_input: InputFactory,
    lock_input: Callable[..., dict[str, Any]],
    decision_input: Callable[[str, str], dict[str, Any]],
) -> None:
    checked: PolicyEngine = sandboxed
    reference = EmbeddedEngine(SHIPPED)
    docs = [
        key_result_input(),
        key_result_input(pay_linked=True, risk_domain="conduct", risk_rating=5),
        key_result_input("key_result.revise", without=("unit",), baseline=3, target=3),
        key_result_input(title="Hold ten client meetings", owner="tom", unit="meetings"),
        lock_input({"obj-1": [0.95, 0.99], "obj-2": [0.5]}),
        decision_input("change_request.approve", "tom"),
    ]
    for doc in docs:
        assert checked.evaluate(doc) == reference.evaluate(doc), doc


def test_a_decision_past_the_budget_is_stopped_and_the_next_one_is_served(
    sandboxed: SandboxedEngine, key_result_input: InputFactory
) -> None:
    with pytest.raises(PolicyTimeout) as caught:
        sandboxed.evaluate(key_result_input(title="heavy"))
    assert caught.value.budget == 0.5
    assert "500 ms budget" in str(caught.value)
    assert sandboxed.workers == 0  # the worker was killed, not kept
    verdict = sandboxed.evaluate(key_result_input(pay_linked=True))
    assert [v.rule for v in verdict.deny] == ["pay_linked"]
    assert sandboxed.workers == 1  # replaced when next needed


def test_the_other_worker_decides_while_one_is_stuck(
    key_result_input: InputFactory,
) -> None:
    engine = SandboxedEngine(2, Budgets(decision=30, start=10))
    engine.load(shipped_with(HEAVY))
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            engine.evaluate(key_result_input())  # one worker up and loaded
            stuck = pool.submit(engine.evaluate, key_result_input(title="heavy"))
            while engine.busy == 0 and not stuck.done():
                time.sleep(0.01)
            answered = [engine.evaluate(key_result_input(pay_linked=True)) for _ in range(5)]
            assert not stuck.done()  # still inside its 30 s budget
            assert {v.rule for verdict in answered for v in verdict.deny} == {"pay_linked"}
            engine.close()  # stops the stuck worker when it comes back
            with pytest.raises(PolicyWorkerFailed):
                stuck.result()
    finally:
        engine.close()


def test_a_worker_that_runs_out_of_memory_fails_closed_and_is_replaced(
    sandboxed: SandboxedEngine, key_result_input: InputFactory
) -> None:
    with pytest.raises(PolicyWorkerFailed, match="died"):
        sandboxed.evaluate(key_result_input(title="huge"))
    assert sandboxed.evaluate(key_result_input()).deny == []


def test_a_rule_that_fails_at_runtime_fails_closed_and_keeps_the_worker(
    key_result_input: InputFactory,
) -> None:
    engine = SandboxedEngine(1)
    engine.load(
        PolicyBundle(
            {"g.rego": 'package okrgov.guardrails\n\ndeny contains {"rule": "r", '
             '"message": sprintf("%v", [1 / input.n])} if input.n >= 0\n'},
            {},
        )
    )  # fmt: skip
    try:
        with pytest.raises(PolicyEvaluationError, match="divide by zero"):
            engine.evaluate({"n": 0})
        assert [v.message for v in engine.evaluate({"n": 4}).deny] == ["0.25"]
        assert engine.workers == 1
    finally:
        engine.close()


def test_a_new_bundle_reaches_every_worker(
    sandboxed: SandboxedEngine, key_result_input: InputFactory
) -> None:
    doc = key_result_input(risk_domain="investment", risk_rating=4)
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(not v.deny for v in pool.map(sandboxed.evaluate, [doc] * 8))
        assert sandboxed.workers == 2
        lowered = shipped_with(data={**SHIPPED.data, "risk_appetite": {"investment": 2}})
        sandboxed.load(lowered)
        found = list(pool.map(sandboxed.evaluate, [doc] * 8))
    assert all([v.rule for v in verdict.deny] == ["risk_appetite"] for verdict in found)


def test_nothing_is_decided_without_a_bundle_or_after_close() -> None:
    engine = SandboxedEngine(1)
    with pytest.raises(PolicyEvaluationError, match="no policy bundle"):
        engine.evaluate({})
    engine.load(SHIPPED)
    assert engine.evaluate({"action": "cycle.open"}).allowed
    engine.close()
    assert engine.workers == 0
    with pytest.raises(PolicyEvaluationError, match="stopped"):
        engine.evaluate({"action": "cycle.open"})
