"""regorus's compiled program is used for a bundle only where it decides as the
interpreter does: the shipped bundle earns it, a bundle that trips the program's handling
of undefined values does not, and either way every verdict is the interpreter's."""

from __future__ import annotations

import random
from typing import Any

import pytest

from policies import compiled as compiled_module
from policies.bundle import PolicyBundle, canonical_json
from policies.compiled import CompiledGuardrails, agreement, compiled_for
from policies.embedded import EmbeddedEngine, evaluate_prepared
from policies.engine import PolicyEvaluationError, Verdict, compile_bundle
from policies.probe_corpus import probe_corpus, probe_input
from policies.sandbox import Budgets, Worker
from policies.sandboxed import SandboxedEngine
from policies.worker import handle

# The compiled program binds `value` to undefined here instead of failing the body, so
# `not is_boolean(value)` holds on every input without a pay_linked: a false denial.
UNDEFINED_ASSIGNED = """package okrgov.guardrails

import rego.v1

deny contains {"rule": "pay_linked", "message": "not a boolean"} if {
	value := input.resource.after.pay_linked
	not is_boolean(value)
}
"""


def interpreted(bundle: PolicyBundle, document: dict[str, Any], has_warn: bool = True) -> Verdict:
    engine = compile_bundle(bundle)
    return Verdict.of(*evaluate_prepared(engine, canonical_json(document), has_warn))


def test_the_shipped_bundle_is_evaluated_on_its_compiled_program(shipped: PolicyBundle) -> None:
    assert EmbeddedEngine(shipped).compiled


def test_the_program_and_the_interpreter_agree_on_a_larger_corpus(shipped: PolicyBundle) -> None:
    compiled = CompiledGuardrails(shipped, True)
    corpus = probe_corpus(shipped.data, 1500, seed=3)
    assert agreement(shipped, True, compile_bundle(shipped), compiled, corpus)


def test_a_bundle_the_program_misjudges_stays_on_the_interpreter() -> None:
    bundle = PolicyBundle({"guardrails.rego": UNDEFINED_ASSIGNED}, {})
    compiled = CompiledGuardrails(bundle, False)
    check_in = {"action": "key_result.check_in", "resource": {"after": None}}
    answer = compiled.evaluate_text(canonical_json(check_in))
    assert answer is not None
    assert answer[0] == [{"rule": "pay_linked", "message": "not a boolean"}]  # the program's error
    assert compiled_for(bundle, False, compile_bundle(bundle)) is None
    engine = EmbeddedEngine(bundle)
    assert not engine.compiled
    assert engine.evaluate(check_in) == Verdict([], []) == interpreted(bundle, check_in, False)
    with_one = {"action": "key_result.add", "resource": {"after": {"pay_linked": "yes"}}}
    assert [v.rule for v in engine.evaluate(with_one).deny] == ["pay_linked"]


def test_a_reused_machine_carries_nothing_from_one_input_to_the_next(
    shipped: PolicyBundle,
) -> None:
    engine = EmbeddedEngine(shipped)
    assert engine.compiled
    rng = random.Random(5)
    corpus = [probe_input(rng, shipped.data) for _ in range(300)]
    first = [engine.evaluate(d) for d in corpus]
    assert [engine.evaluate(d) for d in reversed(corpus)] == list(reversed(first))
    template = compile_bundle(shipped)
    judged = [Verdict.of(*evaluate_prepared(template, canonical_json(d), True)) for d in corpus]
    assert first == judged


def test_an_error_is_the_interpreter_s() -> None:
    divides = (
        "package okrgov.guardrails\n\nimport rego.v1\n\n"
        'deny contains {"rule": "ratio", "message": sprintf("%v", [1 / input.n])} if input.n >= 0\n'
    )
    engine = EmbeddedEngine(PolicyBundle({"guardrails.rego": divides}, {}))
    assert engine.compiled  # no probe input has an n: the program agrees
    assert engine.evaluate({"n": 4}).deny
    with pytest.raises(PolicyEvaluationError, match="divide by zero"):
        engine.evaluate({"n": 0})
    assert engine.evaluate({"n": 2}).deny


def test_a_policy_worker_decides_on_the_program_where_it_agrees(shipped: PolicyBundle) -> None:
    slots: dict[str, Any] = {}
    request = {"op": "load", "slot": "active", "modules": shipped.modules, "data": shipped.data}
    assert handle(slots, request)["ok"]["compiled"] is False  # only when asked, for decisions
    assert handle(slots, {**request, "compiled": True})["ok"]["compiled"] is True
    engine = compile_bundle(shipped)
    for document in probe_corpus(shipped.data, 200, seed=8):
        text = canonical_json(document)
        found = handle(slots, {"op": "decide", "slot": "active", "input": text, "warn": True})
        assert Verdict.of(found["ok"]["deny"], found["ok"]["warn"]) == Verdict.of(
            *evaluate_prepared(engine, text, True)
        )


def test_the_sandboxed_engine_decides_as_the_embedded_one(shipped: PolicyBundle) -> None:
    """Inputs reach a worker as their text after the request line: Unicode, escapes and
    all (the probe corpus's titles), and its answers are the in-process engine's."""
    embedded, sandboxed = EmbeddedEngine(shipped), SandboxedEngine(1, Budgets(start=30))
    sandboxed.load(shipped)
    try:
        for document in probe_corpus(shipped.data, 150, seed=23):
            assert sandboxed.evaluate(document) == embedded.evaluate(document), document
    finally:
        sandboxed.close()


def test_later_workers_are_told_the_first_worker_s_answer(shipped: PolicyBundle) -> None:
    """Only the first worker to load a bundle checks its program on the probe corpus."""
    engine = SandboxedEngine(2, Budgets(start=30))
    engine.load(shipped)
    current = engine._current
    assert current is not None
    asked: list[dict[str, Any]] = []
    first, second = Worker("okrgov-policy-test-1"), Worker("okrgov-policy-test-2")
    try:
        for worker in (first, second):
            ask = worker.ask

            def recording(request: dict[str, Any], *args: Any, ask: Any = ask) -> Any:
                asked.append(request)
                return ask(request, *args)

            worker.ask = recording  # type: ignore[method-assign]
            engine._ready(worker, current)
    finally:
        first.stop()
        second.stop()
        engine.close()
    loads = [r for r in asked if r["op"] == "load"]
    assert [r.get("agreed") for r in loads] == [None, True]


def test_a_check_that_runs_out_of_time_leaves_the_bundle_interpreted(
    shipped: PolicyBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compiled_module, "AGREEMENT_SECONDS", 0.0)
    compiled = CompiledGuardrails(shipped, True)
    assert not agreement(shipped, True, compile_bundle(shipped), compiled)
