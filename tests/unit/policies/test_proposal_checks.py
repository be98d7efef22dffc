"""The checks a proposed version passes: compile, the settings its rules read, its own
tests and the shipped invariant tests, each under its budget, in a review worker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from policy_bundles import GUARDRAILS, SHIPPED, line_of, shipped_with, slow_rule

from policies import testing
from policies.bundle import PolicyBundle
from policies.engine import PolicyCompileError, new_engine, prepare
from policies.proposal_checks import (
    ANALYSIS,
    INVARIANT,
    SETTING,
    TEST,
    CheckResult,
    PolicyChecksFailed,
    check_proposal,
    invariant_modules,
    require_passing,
)
from policies.review import PolicyReviews
from policies.sandbox import Budgets
from policies.testing import NOT_RUN, OVER_BUDGET, UNDEFINED

INVARIANTS = "data.okrgov.invariants_test."


@pytest.fixture(scope="module")
def reviews() -> Iterator[PolicyReviews]:
    reviews = PolicyReviews(Budgets(decision=0.5, start=10, review=30))
    yield reviews
    reviews.close()


def failures(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results if not r.passed}


def invariant_failures(bundle: PolicyBundle) -> set[str]:
    """The invariant tests this bundle fails, run in this process (fast, for the matrix
    of weakened rules; the sandboxed path is tested on its own below)."""
    invariants = invariant_modules()
    engine = new_engine({**bundle.modules, **invariants}, bundle.data)
    prepare(engine)
    cases = testing.test_cases(json.loads(engine.get_ast_as_json()), set(invariants))
    assert len(cases) >= 10
    return {
        c.name.removeprefix(INVARIANTS) for c in cases if not testing.run_test(engine, c).passed
    }


def test_the_shipped_bundle_passes_every_check(reviews: PolicyReviews) -> None:
    results = check_proposal(reviews, SHIPPED)
    assert failures(results) == {}
    require_passing(results)
    kinds = {r.kind for r in results}
    assert kinds == {ANALYSIS, SETTING, TEST, INVARIANT}
    names = {r.name for r in results}
    assert "data.okrgov.guardrails_test.test_pay_linked_key_result_is_denied" in names
    assert f"{INVARIANTS}test_pay_linked_key_results_are_denied" in names
    tests = [r for r in results if r.kind == TEST]
    assert all(r.location and r.location.startswith("guardrails_test.rego:") for r in tests)


def test_modules_without_data_fail_naming_every_setting_the_rules_read(
    reviews: PolicyReviews,
) -> None:
    """The issue's version: the shipped modules and no data. Its rules then read nothing,
    so nothing is ever over the appetite or the key-result limit."""
    results = check_proposal(reviews, PolicyBundle(modules=SHIPPED.modules, data={}))
    failed = failures(results)
    settings = {name: r for name, r in failed.items() if r.kind == SETTING}
    assert {
        "data.limits",
        "data.risk_appetite",
        "data.change_approval.approver_roles",
        "data.activity_words.first",
    } <= set(settings)
    limits = settings["data.limits"]
    assert limits.location == f"{GUARDRAILS}:{line_of(SHIPPED.modules[GUARDRAILS], 'data.limits')}"
    assert "the data has no data.limits" in limits.message
    invariants = {n.removeprefix(INVARIANTS) for n, r in failed.items() if r.kind == INVARIANT}
    assert {
        "test_ratings_above_the_appetite_are_denied",
        "test_more_key_results_than_the_limit_are_denied",
    } <= invariants
    with pytest.raises(PolicyChecksFailed) as caught:
        require_passing(results)
    assert caught.value.failures == list(failed.values())


# A version that drops one promise each; the invariant that catches it.
WEAKENED = {
    "pay_linked": (
        'violation("pay_linked", msg)',
        'violation("pay_linked_noted", msg)',
        "test_pay_linked_key_results_are_denied",
    ),
    "appetite one higher": (
        "\trating > appetite\n",
        "\trating > appetite + 1\n",
        "test_ratings_above_the_appetite_are_denied",
    ),
    "limit one higher": (
        "total > limits.max_key_results_per_objective\n",
        "total > limits.max_key_results_per_objective + 1\n",
        "test_more_key_results_than_the_limit_are_denied",
    ),
    "no target check": (
        "kr.target == kr.baseline",
        "kr.target == kr.baseline + 1000000",
        "test_key_results_asking_for_no_change_are_denied",
    ),
    "lock covers key results only": (
        '\tinput.action in scored_actions\n\tinput.cycle.state == "locked"',
        '\tstartswith(input.action, "key_result.")\n\tinput.cycle.state == "locked"',
        "test_changes_after_lock_without_a_request_are_denied",
    ),
    "pending requests unlock": (
        '\tinput.change_request.status == "approved"\n',
        '\tinput.change_request.status in {"approved", "pending"}\n',
        "test_changes_after_lock_with_a_request_not_yet_approved_are_denied",
    ),
    "approval not judged again": (
        '"change_request.request", "change_request.approve"}',
        '"change_request.request"}',
        "test_pay_linked_key_results_are_denied",
    ),
    "four eyes off": (
        "\tinput.actor.id == input.change_request.requester\n",
        "\tinput.actor.id == input.change_request.requester\n\tfalse\n",
        "test_the_requester_cannot_decide_their_own_request",
    ),
    "any role decides": (
        "\tnot may_decide_change_requests\n",
        "\tnot may_decide_change_requests\n\tcount(actor_roles) == 0\n",
        "test_roles_outside_the_approver_roles_cannot_decide",
    ),
}


@pytest.mark.parametrize(("old", "new", "invariant"), WEAKENED.values(), ids=list(WEAKENED))
def test_a_version_that_drops_a_promise_fails_its_invariant(
    old: str, new: str, invariant: str
) -> None:
    text = SHIPPED.modules[GUARDRAILS]
    assert text.count(old) >= 1, old
    weakened = PolicyBundle({GUARDRAILS: text.replace(old, new)}, SHIPPED.data)
    assert invariant in invariant_failures(weakened)


def test_changed_settings_are_judged_by_the_version_s_own_values() -> None:
    data = json.loads(json.dumps(SHIPPED.data))
    data["risk_appetite"]["investment"] = 2
    data["limits"]["max_key_results_per_objective"] = 3
    data["change_approval"]["approver_roles"] = ["executive", "risk_officer"]
    assert invariant_failures(PolicyBundle(SHIPPED.modules, data)) == set()


def test_a_second_module_in_the_guardrails_package_keeps_the_invariants() -> None:
    """regorus 0.13 answers undefined for a rule reached through `import
    data.okrgov.guardrails` when another module of the package was loaded first; the
    invariants name the rules by their full path, so a module sorted before
    guardrails.rego changes nothing."""
    extra = '\ndeny contains violation("aum", "AUM") if input.resource.after.title == "AUM"\n'
    assert invariant_failures(shipped_with(extra, module="aum.rego")) == set()


def test_a_failing_test_of_the_proposal_is_named_with_its_place_and_outcome(
    reviews: PolicyReviews,
) -> None:
    pay_linked = '{"action": "key_result.add", "resource": {"after": {"pay_linked": true}}}'
    wrong = (
        "package okrgov.mine_test\n\nimport rego.v1\n\ntest_pay_linked_is_allowed if {\n"
        f"\tcount(data.okrgov.guardrails.deny) == 0 with input as {pay_linked}\n}}\n"
    )
    bundle = PolicyBundle(SHIPPED.modules, SHIPPED.data, {"mine_test.rego": wrong})
    failed = failures(check_proposal(reviews, bundle))
    assert list(failed) == ["data.okrgov.mine_test.test_pay_linked_is_allowed"]
    [result] = failed.values()
    assert (result.kind, result.outcome, result.location) == (TEST, UNDEFINED, "mine_test.rego:5")


def test_a_test_past_the_budget_names_the_rule_that_is_slow(reviews: PolicyReviews) -> None:
    bundle = shipped_with(slow_rule("slow_additions", 'input.action == "key_result.add"'))
    results = check_proposal(reviews, bundle)
    failed = failures(results)
    over = [r for r in failed.values() if r.outcome == OVER_BUDGET]
    assert len(over) == 1
    [result] = over
    assert result.kind == TEST and result.name.startswith("data.okrgov.guardrails_test.test_")
    assert result.culprit is not None
    text = bundle.modules[GUARDRAILS]
    assert result.culprit.rule == "data.okrgov.guardrails.slow_additions"
    assert result.culprit.location == f"{GUARDRAILS}:{line_of(text, 'slow_additions if {')}"
    assert "500 ms budget" in result.message and "slow_additions" in result.message
    # The checks stop there: the rest is one result saying what was not run.
    assert results[-1].outcome == NOT_RUN and "invariant tests" in results[-1].message


def test_a_slow_definition_of_deny_is_named_by_its_line(reviews: PolicyReviews) -> None:
    from policy_bundles import FOREVER

    slow_deny = (
        '\ndeny contains violation("slow", "x") if {\n'
        f'\tinput.action == "key_result.add"\n\t{FOREVER}\n}}\n'
    )
    bundle = shipped_with(slow_deny, tests=False)  # no tests of its own: the invariants
    failed = failures(check_proposal(reviews, bundle))
    [over] = [r for r in failed.values() if r.outcome == OVER_BUDGET]
    assert over.kind == INVARIANT
    assert over.culprit is not None
    assert over.culprit.rule == "data.okrgov.guardrails.deny"
    text = bundle.modules[GUARDRAILS]
    line = line_of(text, 'violation("slow", "x")')
    assert over.culprit.location == f"{GUARDRAILS}:{line}"


def test_a_rule_slow_on_an_empty_input_fails_the_analysis(reviews: PolicyReviews) -> None:
    bundle = shipped_with(slow_rule("always_slow", "true"))
    results = check_proposal(reviews, bundle)
    [failed] = failures(results).values()
    assert (failed.kind, failed.outcome) == (ANALYSIS, OVER_BUDGET)
    assert failed.name == "data.okrgov.guardrails.deny on an empty input"
    assert failed.culprit is not None
    assert failed.culprit.rule == "data.okrgov.guardrails.always_slow"


def test_the_checks_stop_when_the_review_budget_runs_out() -> None:
    tight = PolicyReviews(Budgets(decision=5, start=10, review=1.5))
    try:
        bundle = shipped_with(slow_rule("slow_additions", 'input.action == "key_result.add"'))
        results = check_proposal(tight, bundle)
    finally:
        tight.close()
    assert results[-1].outcome == NOT_RUN
    assert "1.5 s budget" in results[-1].message


def test_compile_errors_and_reserved_packages_are_refused(reviews: PolicyReviews) -> None:
    broken = shipped_with("\nbroken := := 1\n")
    with pytest.raises(PolicyCompileError) as caught:
        check_proposal(reviews, broken)
    assert caught.value.module == GUARDRAILS
    assert caught.value.line == line_of(broken.modules[GUARDRAILS], "broken := := 1")

    sneaky = (
        "package okrgov.invariants_test\n\nimport rego.v1\n\n"
        "test_pay_linked_key_results_are_denied := true\n"
    )
    for bundle in (
        PolicyBundle({**SHIPPED.modules, "sneaky.rego": sneaky}, SHIPPED.data),
        PolicyBundle(SHIPPED.modules, SHIPPED.data, {"sneaky_test.rego": sneaky}),
    ):
        with pytest.raises(PolicyCompileError, match="reserved") as refused:
            check_proposal(reviews, bundle)
        assert refused.value.module in ("sneaky.rego", "sneaky_test.rego")

    without_guardrails = PolicyBundle({"x.rego": "package other\n\nallow := true\n"}, {})
    with pytest.raises(PolicyCompileError, match="guardrails are missing"):
        check_proposal(reviews, without_guardrails)


def test_a_test_whose_worker_dies_fails_naming_it(reviews: PolicyReviews) -> None:
    """A rule that outgrows the worker's memory limit on the tests' inputs kills the
    worker: the test fails as an error (422 at proposal), not the request (503)."""
    huge = (
        "\nhuge := count([x | some x in numbers.range(1, 400000000)]) "
        'if input.action == "key_result.add"\n\n'
        'deny contains violation("huge", "never seen") if huge > 0\n'
    )
    results = check_proposal(reviews, shipped_with(huge))
    [died] = [r for r in failures(results).values() if r.outcome == "error"]
    assert died.kind == TEST and died.name.startswith("data.okrgov.guardrails_test.test_")
    assert died.message.startswith("the policy worker running it died")
    assert results[-1].outcome == NOT_RUN
