"""policies.whatif_job under the engine the job names, as the review worker runs it: OPA's
Go evaluator answers with OPA's semantics, every evaluation of the proposal is timed, a
worker without OPA's evaluator says so instead of answering with regorus, and the
versions' tests under OPA give exactly what ``run_opa_tests`` gives."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pytest

from policies import opa_golib, testing, whatif_job
from policies.opa_golib import INSTALL_HINT, OpaUnavailable
from policies.testing import TestCase, TestResult, run_opa_tests
from policies.whatif_tests import version_tests

ACTIVE = """\
package okrgov.guardrails

import rego.v1

deny contains {"rule": "far", "message": "too far"} if input.target > 10
"""
#: Denies a plain lower-cased title: OPA folds "İ" to "i", regorus to "i" + a dot.
QUIRK = (
    ACTIVE
    + """
deny contains {"rule": "quirk", "message": "plain"} if {
	regex.match(`^[a-z ]+$`, lower(input.resource.after.title))
}
"""
)
TESTS = """\
package okrgov.guardrails_test

import rego.v1

import data.okrgov.guardrails

test_passes if count(guardrails.deny) == 0 with input as {"target": 1}

test_false := false

test_undefined if input.nothing == 1

test_folds if lower("İ") == "i"
"""
#: A package whose query fails as a whole: its tests are run one by one.
FAILING_TESTS = """\
package okrgov.failing_test

import rego.v1

twice := 1 if true

twice := 2 if true

test_error if twice == 1

test_passes_too if true
"""
DOTTED = {"target": 1, "resource": {"after": {"title": "İnvestor letters"}}}


def _version(modules: str, tests: str = "") -> dict[str, Any]:
    return {
        "modules": {"g.rego": modules},
        "data": {},
        "tests": {"g_test.rego": tests, "h_test.rego": FAILING_TESTS} if tests else {},
    }


def _job(engine: str, budget: float = 5.0) -> dict[str, Any]:
    return {
        "engine": engine,
        "active": _version(ACTIVE),
        "proposed": _version(QUIRK, TESTS),
        "documents": [{"id": "kr", "input": json.dumps(DOTTED)}],
        "replays": [{"id": "d", "input": json.dumps(DOTTED)}],
        "budget": budget,
    }


@pytest.mark.parametrize(("engine", "denied"), [("embedded", []), ("opa", ["quirk"])])
def test_both_versions_and_the_replays_are_judged_under_the_jobs_engine(
    engine: str, denied: list[str]
) -> None:
    found = whatif_job.run(_job(engine))
    assert found["engine"] == engine
    [document] = found["documents"]
    assert document["active"] == {"deny": [], "warn": []}
    assert document["proposed"] == {"deny": denied, "warn": []}
    assert found["replays"] == [{"id": "d", "proposed": {"deny": denied, "warn": []}}]
    folds = {r["name"].rpartition(".")[2]: r["passed"] for r in found["proposal_tests"]["results"]}
    assert folds["test_folds"] is (engine == "opa")


def test_every_evaluation_of_the_proposal_under_opa_is_timed() -> None:
    found = whatif_job.run(_job("opa", budget=0.0))
    assert [(s["kind"], s["id"]) for s in found["over_budget"]] == [
        ("key_result", "kr"),
        ("decision", "d"),
    ]


def test_a_worker_without_opas_evaluator_says_so_rather_than_use_regorus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing() -> Any:
        raise OpaUnavailable(INSTALL_HINT)

    monkeypatch.setattr(opa_golib, "_new_go_engine", missing)
    assert whatif_job.run(_job("opa")) == {"engine": "opa", "unavailable": INSTALL_HINT}
    page = {"engine": "opa", "proposed": _version(QUIRK), "decisions": [], "limit": 1}
    assert whatif_job.replay_decisions({**page, "budget": 1.0}) == {
        "engine": "opa",
        "unavailable": INSTALL_HINT,
    }
    # The embedded engine does not need it.
    assert whatif_job.run(_job("embedded"))["engine"] == "embedded"


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown policy engine 'opa2'"):
        whatif_job.run(_job("opa2"))


def test_the_tests_under_opa_report_every_outcome() -> None:
    """The what-if's tests under OPA are ``run_opa_tests``'s: passed, false, undefined and
    error, each as OPA reaches it."""
    bundle = _version(QUIRK, TESTS)
    found = version_tests("opa", bundle, bundle["tests"])
    expected = run_opa_tests(bundle["modules"], bundle["tests"], {})
    assert found == {"results": [asdict(result) for result in expected]}
    outcomes = {r["name"].rpartition(".")[2]: r["outcome"] for r in found["results"]}
    assert outcomes == {
        "test_passes": "passed",
        "test_false": "false",
        "test_undefined": "undefined",
        "test_folds": "passed",
        "test_error": "error",
        "test_passes_too": "passed",
    }


def test_tests_that_do_not_compile_under_opa_are_an_error_not_results() -> None:
    bundle = _version(ACTIVE)
    found = version_tests("opa", bundle, {"t_test.rego": "package t\n\ntest_x if data.x.y("})
    assert found["results"] == [] and found["error"]


def test_only_tests_that_are_not_true_or_whose_package_failed_run_on_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The speed of the OPA run: one query per package, not one per test."""
    alone: list[str] = []
    run_alone = testing.run_opa_test

    def counted(engine: Any, case: TestCase) -> TestResult:
        alone.append(case.name.rpartition(".")[2])
        return run_alone(engine, case)

    monkeypatch.setattr(testing, "run_opa_test", counted)
    bundle = _version(QUIRK, TESTS)
    version_tests("opa", bundle, bundle["tests"])
    assert alone == ["test_false", "test_undefined", "test_error", "test_passes_too"]
