"""run_policy_tests runs Rego tests as `opa test` does: pass, fail, error; under regorus
(embedded) and under OPA's own Go evaluator (opa), each reporting its own outcome."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from policies import opa_golib
from policies.bundle import SHIPPED_BUNDLE_DIR, PolicyBundle
from policies.engine import PolicyCompileError
from policies.testing import (
    EMBEDDED,
    ERROR,
    FALSE,
    OPA,
    PASSED,
    UNDEFINED,
    TestResult,
    run_opa_tests,
    run_policy_tests,
)

ENGINES = [
    EMBEDDED,
    pytest.param(
        OPA, marks=pytest.mark.skipif(not opa_golib.available(), reason=opa_golib.INSTALL_HINT)
    ),
]
needs_opa = pytest.mark.skipif(not opa_golib.available(), reason=opa_golib.INSTALL_HINT)

# Tests that regorus passes and OPA fails: the engines differ on Unicode case mapping
# (OPA lowers "İ" to "i", regorus to "i" and a combining dot) and on regex classes (in
# OPA's RE2, \s is ASCII whitespace only).
DIVERGING_TESTS = """package okrgov.diverging_test

import rego.v1

test_lower_dotted_capital_i if lower("\u0130") == "i\u0307"

test_no_break_space_is_whitespace if regex.match(`\\s`, "\u00a0")

test_ascii_lower_agrees if lower("ABC") == "abc"
"""

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


@pytest.mark.parametrize("engine", ENGINES)
def test_every_shipped_test_passes(shipped: PolicyBundle, engine: str) -> None:
    results = run_policy_tests(SHIPPED_BUNDLE_DIR, engine)
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


@needs_opa
def test_under_opa_failing_and_erroring_tests_are_reported_with_opas_errors(
    tmp_path: Path,
) -> None:
    directory = copy_shipped(tmp_path)
    (directory / "extra_test.rego").write_text(EXTRA_TESTS, encoding="utf-8")
    results = {
        r.name.removeprefix("data.okrgov.extra_test."): r for r in run_policy_tests(directory, OPA)
    }
    assert results["test_passes"] == TestResult(
        "data.okrgov.extra_test.test_passes", True, "", PASSED, "extra_test.rego:16"
    )
    assert results["test_pay_linked_is_allowed"] == TestResult(
        "data.okrgov.extra_test.test_pay_linked_is_allowed",
        False,
        "undefined, not true",
        UNDEFINED,
        "extra_test.rego:7",
    )
    # print() output of a failing test, located as OPA locates it
    assert results["test_is_false"].message == (
        "undefined, not true\n  extra_test.rego:19: looking at 42"
    )
    assert (results["test_errors"].outcome, results["test_errors"].message) == (
        ERROR,
        "error: extra_test.rego:24: eval_builtin_error: div: divide by zero",
    )
    assert "test_helper" not in results
    assert all(r.passed for n, r in results.items() if "guardrails_test" in n)


@needs_opa
def test_a_test_regorus_passes_and_opa_fails_fails_under_opa_only(tmp_path: Path) -> None:
    directory = copy_shipped(tmp_path)
    (directory / "diverging_test.rego").write_text(DIVERGING_TESTS, encoding="utf-8")

    def outcomes(engine: str) -> dict[str, str]:
        return {
            r.name.removeprefix("data.okrgov.diverging_test."): r.outcome
            for r in run_policy_tests(directory, engine)
            if "diverging_test" in r.name
        }

    assert outcomes(EMBEDDED) == {
        "test_lower_dotted_capital_i": PASSED,
        "test_no_break_space_is_whitespace": PASSED,
        "test_ascii_lower_agrees": PASSED,
    }
    assert outcomes(OPA) == {
        "test_lower_dotted_capital_i": UNDEFINED,
        "test_no_break_space_is_whitespace": UNDEFINED,
        "test_ascii_lower_agrees": PASSED,
    }


@needs_opa
def test_a_module_opas_compiler_refuses_is_named_under_opa(tmp_path: Path) -> None:
    """OPA refuses a call of a function no module defines when it compiles; regorus
    reports it only when the test runs, as that test's error."""
    (tmp_path / "p_test.rego").write_text(
        "package p_test\n\nimport rego.v1\n\ntest_x if {\n\tnot_defined(1)\n}\n", "utf-8"
    )
    [embedded] = run_policy_tests(tmp_path, EMBEDDED)
    assert (embedded.outcome, embedded.location) == (ERROR, "p_test.rego:5")
    with pytest.raises(PolicyCompileError) as caught:
        run_policy_tests(tmp_path, OPA)
    assert (caught.value.module, caught.value.line) == ("p_test.rego", 6)
    assert "not_defined" in caught.value.message


@needs_opa
def test_opa_runs_other_test_modules_against_the_bundle(shipped: PolicyBundle) -> None:
    """As the invariant tests are run: test modules that are not the bundle's own."""
    module = (
        "package mine_test\n\nimport rego.v1\n\n"
        "test_denies if count(data.okrgov.guardrails.deny) == 0\n\ntest_value := 3\n"
    )
    tests = {"mine_test.rego": module}
    results = run_opa_tests(shipped.modules, tests, shipped.data)
    assert [(r.name, r.outcome, r.message) for r in results] == [
        ("data.mine_test.test_denies", PASSED, ""),
        ("data.mine_test.test_value", FALSE, "evaluated to 3, not true"),
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_test_that_evaluates_to_something_else_fails(tmp_path: Path, engine: str) -> None:
    (tmp_path / "p_test.rego").write_text('package p_test\n\ntest_value := "yes"\n', "utf-8")
    assert run_policy_tests(tmp_path, engine) == [
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
