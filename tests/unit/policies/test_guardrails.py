"""Every guardrail, both ways, through the embedded engine (the engine decisions use)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.engine import Verdict, compile_bundle

InputFactory = Callable[..., dict[str, Any]]
Sibling = Callable[..., dict[str, Any]]
LockInput = Callable[[dict[str, list[float | None]]], dict[str, Any]]
DecisionInput = Callable[[str, str], dict[str, Any]]
ObjectiveInput = Callable[..., dict[str, Any]]


def denied(verdict: Verdict) -> set[str]:
    return {v.rule for v in verdict.deny}


def warned(verdict: Verdict) -> set[str]:
    return {v.rule for v in verdict.warn}


def messages(verdict: Verdict, rule: str) -> list[str]:
    return [v.message for v in [*verdict.deny, *verdict.warn] if v.rule == rule]


def test_a_well_formed_key_result_passes_every_rule(
    engine: EmbeddedEngine, key_result_input: InputFactory
) -> None:
    verdict = engine.evaluate(key_result_input())
    assert verdict == Verdict(deny=[], warn=[])
    assert verdict.allowed


def test_every_rule_id_is_in_the_catalogue_with_its_severity(shipped: PolicyBundle) -> None:
    catalogue = json.loads(
        compile_bundle(shipped).eval_rule_as_json("data.okrgov.guardrails.catalogue")
    )
    assert {rule: entry["severity"] for rule, entry in catalogue.items()} == {
        "pay_linked": "deny",
        "risk_appetite": "deny",
        "measurable": "deny",
        "key_result_limit": "deny",
        "single_key_result": "warn",
        "changes_after_lock": "deny",
        "four_eyes": "deny",
        "approver_role": "deny",
        "sales_conduct": "deny",
        "activity_not_outcome": "warn",
        "objective_title_shape": "warn",
        "growth_without_guardrail": "warn",
        "sandbagging": "warn",
    }


# pay_linked ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action", ["key_result.add", "key_result.revise", "change_request.request"]
)
def test_pay_linked_is_denied(
    engine: EmbeddedEngine, key_result_input: InputFactory, action: str
) -> None:
    verdict = engine.evaluate(key_result_input(action, pay_linked=True))
    assert denied(verdict) == {"pay_linked"}
    assert messages(verdict, "pay_linked") == [
        'Key result "LP reporting turnaround" is linked to pay or bonus. OKRs are kept '
        "separate from remuneration: set pay_linked to false, and agree any incentive "
        "through the remuneration process."
    ]


def test_pay_linked_false_is_not_denied(
    engine: EmbeddedEngine, key_result_input: InputFactory
) -> None:
    # A Python False must reach Rego as JSON false (some regorus wheels turned it into 0,
    # which Rego treats as true).
    verdict = engine.evaluate(key_result_input(pay_linked=False))
    assert "pay_linked" not in denied(verdict)
    assert verdict.allowed


@pytest.mark.parametrize("value", [None, 0, 1, "false"])
def test_pay_linked_that_is_not_a_boolean_is_denied(
    engine: EmbeddedEngine, key_result_input: InputFactory, value: Any
) -> None:
    assert "pay_linked" in denied(engine.evaluate(key_result_input(pay_linked=value)))


# risk_appetite -------------------------------------------------------------------------


def test_rating_above_appetite_is_denied(
    engine: EmbeddedEngine, key_result_input: InputFactory
) -> None:
    verdict = engine.evaluate(key_result_input(risk_domain="investment", risk_rating=5))
    assert denied(verdict) == {"risk_appetite"}
    assert messages(verdict, "risk_appetite") == [
        'Key result "LP reporting turnaround" has risk rating 5 in the investment risk domain, '
        "above the firm's appetite of 4 for that domain. Reduce the risk the key result takes "
        "(rating 4 or lower) or ask a risk officer to review the appetite."
    ]


def test_rating_within_appetite_is_allowed(
    engine: EmbeddedEngine, key_result_input: InputFactory
) -> None:
    for domain, rating in [("investment", 4), ("conduct", 2), ("operational", 3)]:
        verdict = engine.evaluate(key_result_input(risk_domain=domain, risk_rating=rating))
        assert "risk_appetite" not in denied(verdict), domain


def test_lowering_the_appetite_in_data_denies(
    shipped: PolicyBundle, key_result_input: InputFactory
) -> None:
    data = json.loads(json.dumps(shipped.data))
    data["risk_appetite"]["investment"] = 3
    lowered = EmbeddedEngine(PolicyBundle(modules=shipped.modules, data=data))
    doc = key_result_input(risk_domain="investment", risk_rating=4)
    assert "risk_appetite" in denied(lowered.evaluate(doc))


@pytest.mark.parametrize("domain", ["weather", None, ""])
def test_rating_in_an_unknown_domain_is_denied(
    engine: EmbeddedEngine, key_result_input: InputFactory, domain: str | None
) -> None:
    verdict = engine.evaluate(key_result_input(risk_domain=domain, risk_rating=1))
    assert denied(verdict) == {"risk_appetite"}
    assert (
        "Use one of: compliance, conduct, credit, investment, market, operational."
        in (messages(verdict, "risk_appetite")[0])
    )


def test_no_rating_needs_no_known_domain(
    engine: EmbeddedEngine, key_result_input: InputFactory
) -> None:
    verdict = engine.evaluate(key_result_input(risk_domain="weather", risk_rating=None))
    assert "risk_appetite" not in denied(verdict)
    verdict = engine.evaluate(key_result_input(without=("risk_domain", "risk_rating")))
    assert "risk_appetite" not in denied(verdict)


@pytest.mark.parametrize("rating", [0, 6, 2.5, "high"])
def test_rating_outside_one_to_five_is_denied(
    engine: EmbeddedEngine, key_result_input: InputFactory, rating: Any
) -> None:
    assert "risk_appetite" in denied(engine.evaluate(key_result_input(risk_rating=rating)))


# measurable ----------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["owner", "unit", "direction", "baseline", "target"])
def test_a_missing_field_is_denied(
    engine: EmbeddedEngine, key_result_input: InputFactory, field: str
) -> None:
    verdict = engine.evaluate(key_result_input(without=(field,)))
    assert "measurable" in denied(verdict)
    assert any(f" {field}" in m for m in messages(verdict, "measurable"))


@pytest.mark.parametrize(
    "changes",
    [
        {"owner": " "},
        {"unit": ""},
        {"direction": None},
        {"direction": "sideways"},
        {"baseline": "fifteen"},
        {"target": None},
    ],
)
def test_a_blank_or_invalid_field_is_denied(
    engine: EmbeddedEngine, key_result_input: InputFactory, changes: dict[str, Any]
) -> None:
    assert "measurable" in denied(engine.evaluate(key_result_input(**changes)))


def test_target_equal_to_baseline_is_denied(
    engine: EmbeddedEngine, key_result_input: InputFactory
) -> None:
    verdict = engine.evaluate(key_result_input(baseline=8, target=8.0))
    assert denied(verdict) == {"measurable"}
    assert "equal to its baseline" in messages(verdict, "measurable")[0]


def test_a_milestone_is_measurable(engine: EmbeddedEngine, key_result_input: InputFactory) -> None:
    doc = key_result_input(direction="milestone", baseline=0, target=1, unit="certified")
    assert "measurable" not in denied(engine.evaluate(doc))


# key_result_limit and single_key_result -------------------------------------------------


def siblings(sibling: Sibling, n: int) -> list[dict[str, Any]]:
    return [sibling(id=f"kr-{i}") for i in range(n)]


def test_a_sixth_key_result_is_denied(
    engine: EmbeddedEngine, key_result_input: InputFactory, sibling: Sibling
) -> None:
    verdict = engine.evaluate(key_result_input(siblings=siblings(sibling, 5)))
    assert denied(verdict) == {"key_result_limit"}
    assert messages(verdict, "key_result_limit") == [
        'Objective "Give our LPs faster, cleaner reporting" would have 6 key results; the '
        "limit is 5. Keep the ones that matter most: retire or merge one before adding another."
    ]


def test_a_fifth_key_result_is_allowed(
    engine: EmbeddedEngine, key_result_input: InputFactory, sibling: Sibling
) -> None:
    assert engine.evaluate(key_result_input(siblings=siblings(sibling, 4))).allowed


def test_a_single_key_result_warns(engine: EmbeddedEngine, key_result_input: InputFactory) -> None:
    verdict = engine.evaluate(key_result_input(siblings=[]))
    assert verdict.allowed
    assert warned(verdict) == {"single_key_result"}


def test_a_second_key_result_does_not_warn(
    engine: EmbeddedEngine, key_result_input: InputFactory, sibling: Sibling
) -> None:
    verdict = engine.evaluate(key_result_input(siblings=siblings(sibling, 1)))
    assert "single_key_result" not in warned(verdict)


def test_retiring_down_to_one_key_result_warns(
    engine: EmbeddedEngine, key_result_input: InputFactory, sibling: Sibling
) -> None:
    doc = key_result_input("key_result.retire", siblings=siblings(sibling, 1))
    assert "single_key_result" in warned(engine.evaluate(doc))
    doc = key_result_input("key_result.retire", siblings=siblings(sibling, 2))
    assert "single_key_result" not in warned(engine.evaluate(doc))


def test_an_objective_locked_with_one_key_result_warns(
    engine: EmbeddedEngine, lock_input: LockInput
) -> None:
    verdict = engine.evaluate(lock_input({"obj-1": [None], "obj-2": [None, None]}))
    assert messages(verdict, "single_key_result") == [
        "Objective obj-1 is locked with a single key result. Add a second measure (two to "
        "five is good practice) through a change request if one number should not carry it "
        "alone."
    ]


# changes_after_lock and four_eyes --------------------------------------------------------


def change_input(
    key_result_input: InputFactory, action: str, state: str, request: dict[str, Any] | None
) -> dict[str, Any]:
    doc = key_result_input(action, target=10)
    doc["cycle"]["state"] = state
    doc["change_request"] = request
    return doc


APPROVED = {"id": "cr-1", "requester": "tom", "status": "approved", "key_result_id": "kr-1"}


@pytest.mark.parametrize("action", ["key_result.revise", "key_result.retire"])
@pytest.mark.parametrize(
    "request_",
    [
        None,
        {**APPROVED, "status": "pending"},
        {**APPROVED, "status": "rejected"},
        {**APPROVED, "key_result_id": "kr-2"},
    ],
)
def test_a_change_after_lock_without_an_approved_request_is_denied(
    engine: EmbeddedEngine,
    key_result_input: InputFactory,
    action: str,
    request_: dict[str, Any] | None,
) -> None:
    verdict = engine.evaluate(change_input(key_result_input, action, "locked", request_))
    assert denied(verdict) == {"changes_after_lock"}
    assert messages(verdict, "changes_after_lock")[0].startswith(
        'Cycle "2026-Q4" is locked: key result "kr-1" changes only through an approved '
        "change request."
    )


@pytest.mark.parametrize("action", ["key_result.revise", "key_result.retire"])
def test_a_change_after_lock_with_an_approved_request_is_allowed(
    engine: EmbeddedEngine, key_result_input: InputFactory, action: str
) -> None:
    verdict = engine.evaluate(change_input(key_result_input, action, "locked", APPROVED))
    assert verdict.allowed


def test_a_change_before_lock_needs_no_request(
    engine: EmbeddedEngine, key_result_input: InputFactory
) -> None:
    doc = change_input(key_result_input, "key_result.revise", "planning", None)
    assert engine.evaluate(doc).allowed


def test_a_closed_cycle_does_not_change(
    engine: EmbeddedEngine, key_result_input: InputFactory
) -> None:
    doc = change_input(key_result_input, "key_result.revise", "closed", APPROVED)
    assert denied(engine.evaluate(doc)) == {"changes_after_lock"}


@pytest.mark.parametrize("action", ["change_request.approve", "change_request.reject"])
def test_the_requester_cannot_decide_their_own_request(
    engine: EmbeddedEngine, action: str, decision_input: DecisionInput
) -> None:
    verdict = engine.evaluate(decision_input(action, "tom"))
    assert denied(verdict) == {"four_eyes"}
    assert messages(verdict, "four_eyes") == [
        'tom requested change request "cr-1" and cannot decide it: another person must '
        "approve or reject it (four-eyes principle)."
    ]


@pytest.mark.parametrize("action", ["change_request.approve", "change_request.reject"])
def test_someone_else_may_decide(
    engine: EmbeddedEngine, action: str, decision_input: DecisionInput
) -> None:
    assert engine.evaluate(decision_input(action, "priya")) == Verdict(deny=[], warn=[])


@pytest.mark.parametrize("action", ["change_request.approve", "change_request.reject"])
@pytest.mark.parametrize("roles", [["member"], ["risk_officer"], ["admin"], []])
def test_only_the_roles_allowed_to_approve_decide(
    engine: EmbeddedEngine, action: str, roles: list[str], decision_input: DecisionInput
) -> None:
    doc = decision_input(action, "sofia")
    doc["actor"]["roles"] = roles
    verdict = engine.evaluate(doc)
    assert denied(verdict) == {"approver_role"}
    assert messages(verdict, "approver_role") == [
        f'"sofia" (roles: {", ".join(roles)}) may not decide change requests: only '
        "executive may approve or reject them. Ask one of them to decide this request."
    ]


def test_who_may_approve_is_data_the_firm_governs(
    shipped: PolicyBundle, decision_input: DecisionInput
) -> None:
    data = {**shipped.data, "change_approval": {"approver_roles": ["risk_officer"]}}
    engine = EmbeddedEngine(PolicyBundle(modules=shipped.modules, data=data))
    executive = decision_input("change_request.approve", "priya")
    risk_officer = decision_input("change_request.approve", "ana")
    risk_officer["actor"]["roles"] = ["risk_officer"]
    assert denied(engine.evaluate(executive)) == {"approver_role"}
    assert engine.evaluate(risk_officer).allowed


# sales_conduct --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "unit"),
    [
        ("New accounts opened", "accounts"),
        ("Cross-selling to existing LPs", "funds per LP"),
        ("Fund II first close", "AUM raised (USD m)"),
        ("Quarterly revenue", "USD"),
    ],
)
def test_sales_volume_owned_by_a_client_facing_role_is_denied(
    engine: EmbeddedEngine, key_result_input: InputFactory, title: str, unit: str
) -> None:
    doc = key_result_input(title=title, unit=unit, direction="increase", baseline=1, target=2)
    verdict = engine.evaluate(doc)  # tom works in investor relations
    assert denied(verdict) == {"sales_conduct"}
    assert "client-facing role (investor_relations)" in messages(verdict, "sales_conduct")[0]


def test_sales_volume_owned_by_another_role_is_allowed(
    engine: EmbeddedEngine, key_result_input: InputFactory
) -> None:
    doc = key_result_input(
        title="New accounts opened", owner="elena", direction="increase", baseline=1, target=2
    )
    assert "sales_conduct" not in denied(engine.evaluate(doc))


def test_a_client_outcome_owned_by_a_client_facing_role_is_allowed(
    engine: EmbeddedEngine, key_result_input: InputFactory
) -> None:
    doc = key_result_input(title="LP complaints resolved within five days", unit="%")
    assert "sales_conduct" not in denied(engine.evaluate(doc))


# activity_not_outcome --------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Launch the new LP portal",
        "Implement the new CRM",
        "Hold ten client meetings",
        "Quarterly LP reviews: conduct meetings with the top 20",
        "Write the AML policy",
        "Organise the investor day",
    ],
)
def test_an_activity_title_warns(
    engine: EmbeddedEngine, key_result_input: InputFactory, title: str
) -> None:
    verdict = engine.evaluate(key_result_input(title=title))
    assert verdict.allowed
    assert warned(verdict) == {"activity_not_outcome"}


@pytest.mark.parametrize(
    "title",
    [
        "LP reporting turnaround",
        "Head of Compliance hired by week ten",
        "Training attendance rate",
        "Portal launched to 80% of LPs",
    ],
)
def test_an_outcome_title_does_not_warn(
    engine: EmbeddedEngine, key_result_input: InputFactory, title: str
) -> None:
    assert "activity_not_outcome" not in warned(engine.evaluate(key_result_input(title=title)))


# objective_title_shape -------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Cut LP reporting to 8 days",
        "Strengthen operations",
        " ".join(["word"] * 19),
    ],
)
def test_a_badly_shaped_objective_title_warns(
    engine: EmbeddedEngine, title: str, objective_input: ObjectiveInput
) -> None:
    for action in ("objective.create", "objective.revise"):
        verdict = engine.evaluate(objective_input(title, action))
        assert verdict.allowed
        assert warned(verdict) == {"objective_title_shape"}


@pytest.mark.parametrize(
    "title",
    [
        "Strengthen our operational infrastructure ahead of the next fundraise",
        "Give LPs cleaner reporting",
        " ".join(["word"] * 18),
    ],
)
def test_a_well_shaped_objective_title_does_not_warn(
    engine: EmbeddedEngine, title: str, objective_input: ObjectiveInput
) -> None:
    assert engine.evaluate(objective_input(title)) == Verdict(deny=[], warn=[])


# growth_without_guardrail ----------------------------------------------------------------

GROWTH = {
    "title": "Investment memos with a documented downside case",
    "owner": "elena",
    "unit": "%",
    "baseline": 40,
    "target": 100,
    "direction": "increase",
    "risk_domain": "investment",
    "risk_rating": 3,
}


@pytest.mark.parametrize("domain", ["investment", "conduct", "credit"])
def test_growth_in_a_regulated_domain_without_a_guardrail_warns(
    engine: EmbeddedEngine, key_result_input: InputFactory, sibling: Sibling, domain: str
) -> None:
    rating = {"conduct": 2}.get(domain, 3)
    unrelated = sibling(direction="decrease", risk_domain="operational", baseline=9, target=2)
    doc = key_result_input(
        **{**GROWTH, "risk_domain": domain, "risk_rating": rating}, siblings=[unrelated]
    )
    verdict = engine.evaluate(doc)
    assert verdict.allowed
    assert warned(verdict) == {"growth_without_guardrail"}


def test_growth_with_a_guardrail_does_not_warn(
    engine: EmbeddedEngine, key_result_input: InputFactory, sibling: Sibling
) -> None:
    own = key_result_input(**GROWTH, guardrail_metric="memo errors found by the IC")
    reducing = sibling(direction="decrease", risk_domain="investment", baseline=21, target=14)
    paired = key_result_input(**GROWTH, siblings=[reducing])
    metric = key_result_input(**GROWTH, siblings=[sibling(guardrail_metric="complaints")])
    for doc in (own, paired, metric):
        assert "growth_without_guardrail" not in warned(engine.evaluate(doc))


def test_growth_outside_regulated_domains_does_not_warn(
    engine: EmbeddedEngine, key_result_input: InputFactory
) -> None:
    doc = key_result_input(**{**GROWTH, "risk_domain": "operational"}, siblings=[])
    assert "growth_without_guardrail" not in warned(engine.evaluate(doc))


# sandbagging -----------------------------------------------------------------------------


def test_confidence_above_ninety_percent_at_lock_warns(
    engine: EmbeddedEngine, lock_input: LockInput
) -> None:
    verdict = engine.evaluate(lock_input({"obj-1": [0.95, 0.9], "obj-2": [0.5, 0.6]}))
    assert verdict.allowed
    assert messages(verdict, "sandbagging") == [
        "The key results of objective obj-1 have an average confidence of 92.50% at lock, "
        "above 90.00%: the targets may be too safe. Raise them to a real stretch, or record why "
        "near-certainty is right here."
    ]


def test_confidence_above_ninety_percent_across_the_cycle_warns(
    engine: EmbeddedEngine, lock_input: LockInput
) -> None:
    verdict = engine.evaluate(lock_input({"obj-1": [0.95, 0.95], "obj-2": [0.94, 1.0]}))
    found = messages(verdict, "sandbagging")
    assert len(found) == 3
    assert any('cycle "2026-Q4" have an average confidence of 96.00%' in m for m in found)


def test_realistic_confidence_at_lock_does_not_warn(
    engine: EmbeddedEngine, lock_input: LockInput
) -> None:
    verdict = engine.evaluate(lock_input({"obj-1": [0.9, 0.6], "obj-2": [None, 0.7]}))
    assert verdict == Verdict(deny=[], warn=[])


def test_sandbagging_is_only_checked_at_lock(engine: EmbeddedEngine, lock_input: LockInput) -> None:
    doc = lock_input({"obj-1": [1.0, 1.0]})
    doc["action"] = "cycle.close"
    assert engine.evaluate(doc) == Verdict(deny=[], warn=[])
