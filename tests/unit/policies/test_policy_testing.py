"""run_policy_tests runs Rego tests as `opa test` does: pass, fail, error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from policies.bundle import SHIPPED_BUNDLE_DIR, PolicyBundle
from policies.engine import PolicyCompileError
from policies.testing import ERROR, FALSE, PASSED, UNDEFINED, TestResult, run_policy_tests

EXTRA_TESTS = """package okrgov.extra_test

import data.okrgov.guardrails
import rego.v1

# Deliberately wrong: a pay-linked key result IS denied.
test_pay_linked_is_allowed if {
\tnot denied with input as {"action": "key_result.add", "resource": {"after": {"pay_linked": true}}}
}

denied if {
\tsome v in guardrails.deny
\tv.rule == "pay_linked"
}

test_passes if true

test_is_false if {
\tprint("looking at", 41 + 1)
\tfalse
}

test_errors if {
\tx := 1 / count([])
\tx > 0
}

# Functions are not tests.
test_helper(x) := x
"""


def copy_shipped(tmp_path: Path) -> Path:
    for path in SHIPPED_BUNDLE_DIR.iterdir():
        if path.is_file():
            shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_every_shipped_test_passes(shipped: PolicyBundle) -> None:
    results = run_policy_tests(SHIPPED_BUNDLE_DIR)
    assert [r for r in results if not r.passed] == []
    names = {r.name.removeprefix("data.okrgov.guardrails_test.") for r in results}
    assert len(names) == len(results) >= 40
    assert {
        "test_pay_linked_key_result_is_denied",
        "test_pay_linked_false_is_not_denied",
        "test_requester_cannot_approve_own_request",
        "test_someone_else_may_decide",
        "test_confident_objective_at_lock_warns",
        "test_realistic_confidence_at_lock_does_not_warn",
    } <= names


def test_failing_and_erroring_tests_are_reported(tmp_path: Path) -> None:
    directory = copy_shipped(tmp_path)
    (directory / "extra_test.rego").write_text(EXTRA_TESTS, encoding="utf-8")
    results = {r.name: r for r in run_policy_tests(directory)}
    extra = {
        n.removeprefix("data.okrgov.extra_test."): r for n, r in results.items() if "extra" in n
    }
    assert set(extra) == {
        "test_pay_linked_is_allowed",
        "test_passes",
        "test_is_false",
        "test_errors",
    }
    assert extra["test_passes"] == TestResult(
        "data.okrgov.extra_test.test_passes", True, "", PASSED, "extra_test.rego:16"
    )
    assert extra["test_pay_linked_is_allowed"] == TestResult(
        "data.okrgov.extra_test.test_pay_linked_is_allowed",
        False,
        "undefined, not true",
        UNDEFINED,
        "extra_test.rego:7",
    )
    assert not extra["test_is_false"].passed
    assert extra["test_is_false"].message == (
        "undefined, not true\n  extra_test.rego:19: looking at 42"
    )
    assert not extra["test_errors"].passed
    assert extra["test_errors"].message == "error: extra_test.rego:24:12: divide by zero"
    assert (extra["test_errors"].outcome, extra["test_errors"].location) == (
        ERROR,
        "extra_test.rego:23",
    )
    # the shipped tests still pass next to them
    assert all(r.passed for n, r in results.items() if "guardrails_test" in n)


def test_a_test_that_evaluates_to_something_else_fails(tmp_path: Path) -> None:
    (tmp_path / "p_test.rego").write_text('package p_test\n\ntest_value := "yes"\n', "utf-8")
    assert run_policy_tests(tmp_path) == [
        TestResult(
            "data.p_test.test_value", False, 'evaluated to "yes", not true', FALSE, "p_test.rego:3"
        )
    ]


def test_a_syntax_error_in_a_test_module_names_it(tmp_path: Path) -> None:
    directory = copy_shipped(tmp_path)
    (directory / "broken_test.rego").write_text("package broken_test\n\ntest_x if {\n", "utf-8")
    with pytest.raises(PolicyCompileError) as caught:
        run_policy_tests(directory)
    assert caught.value.module == "broken_test.rego"
    assert caught.value.line is not None


def test_the_shipped_tests_pass_beside_a_module_that_loads_first(tmp_path: Path) -> None:
    """A proposal may add a module of the guardrails package whose name sorts before
    guardrails.rego; the shipped tests name the rules by full path, so they still judge
    the rules rather than regorus's alias handling (regorus 0.13 gets that wrong)."""
    directory = copy_shipped(tmp_path)
    (directory / "aa_extra.rego").write_text(
        "package okrgov.guardrails\n\nimport rego.v1\n\nextra_helper := true\n", "utf-8"
    )
    results = run_policy_tests(directory)
    assert len(results) >= 40
    assert [r.name for r in results if not r.passed] == []
