"""Change requests, policy versions and snapshots, run on the in-memory store with a fake
decision point (``ledger_doubles``): four eyes, the lock rules, what each approval applies
in its one save, and what is refused before anything is written. The Rego checks of a
proposal and the what-if's evaluation run in review workers; here they are stand-ins
(their own tests are in tests/unit/policies and the end-to-end suite)."""

from datetime import UTC, datetime
from typing import Any

import pytest
from ledger_doubles import (
    CARA,
    EXEC,
    LENA,
    RAJ,
    RITA,
    TOM,
    FakeDecisionPoint,
    Quarter,
    events_after,
    kinds,
    last_position,
)
from okr_builders import definition

from events import Cycle, KeyResult, Objective
from events.errors import InvalidTransition, InvalidValue, NotSealed, SelfApproval
from policies.bundle import PolicyBundle, load_shipped_bundle
from policies.whatif import WhatIf
from services.application import policies
from services.application.errors import Forbidden, GuardrailViolation
from services.application.ledger import Ledger
from services.application.principals import Principal


@pytest.fixture
def locked(ledger: Ledger, quarter: Quarter) -> Quarter:
    ledger.lock_cycle(EXEC, quarter.cycle.id)
    return quarter


# ---- change requests ---------------------------------------------------------------------


def test_a_change_is_requested_only_after_lock(
    ledger: Ledger, point: FakeDecisionPoint, quarter: Quarter
) -> None:
    before = last_position(ledger)
    with pytest.raises(InvalidTransition, match="not locked"):
        ledger.request_change(TOM, quarter.key_result.id, {"target": 10}, "slipped")
    assert last_position(ledger) == before and point.actions[-1] == "key_result.add"


def test_approving_a_key_result_change_applies_it_in_the_same_save(
    ledger: Ledger, point: FakeDecisionPoint, locked: Quarter
) -> None:
    requested = ledger.request_change(TOM, locked.key_result.id, {"target": 10}, "slipped")
    asked = point.asked[-1]
    assert asked["action"] == "change_request.request"
    assert asked["resource"]["after"]["target"] == 10
    with pytest.raises(SelfApproval):
        ledger.approve_change(TOM, requested.id)
    with pytest.raises(Forbidden):
        ledger.approve_change(CARA, requested.id)
    before = last_position(ledger)
    ledger.approve_change(EXEC, requested.id, "agreed")
    assert kinds(events_after(ledger, before)) == [
        "ChangeRequest.Approved", "KeyResult.Revised", "ChangeRequest.Applied",
        "Decision.Recorded",
    ]  # fmt: skip
    assert point.asked[-1]["change_request"]["id"] == str(requested.id)
    key_result = ledger.load(KeyResult, locked.key_result.id, to_change=False)
    assert key_result.target == 10.0
    with pytest.raises(InvalidTransition):
        ledger.reject_change(EXEC, requested.id)


def test_a_denied_approval_records_the_denial_and_changes_nothing(
    ledger: Ledger, point: FakeDecisionPoint, locked: Quarter
) -> None:
    requested = ledger.request_change(TOM, locked.key_result.id, {}, "obsolete", retire=True)
    point.deny("change_request.approve", "approver_role")
    before = last_position(ledger)
    with pytest.raises(GuardrailViolation):
        ledger.approve_change(LENA, requested.id)
    assert kinds(events_after(ledger, before)) == ["Decision.Recorded"]
    key_result = ledger.load(KeyResult, locked.key_result.id, to_change=False)
    assert not key_result.retired


def test_rejecting_a_request_records_the_rejection_only(
    ledger: Ledger, point: FakeDecisionPoint, locked: Quarter
) -> None:
    requested = ledger.request_change(TOM, locked.key_result.id, {"target": 10}, "slipped")
    recorded = ledger.reject_change(EXEC, requested.id, "hold the line")
    assert kinds(events_after(ledger, recorded.position - 2)) == [
        "ChangeRequest.Rejected",
        "Decision.Recorded",
    ]
    assert point.asked[-1]["action"] == "change_request.reject"


def test_an_objective_change_is_requested_and_applied(
    ledger: Ledger, point: FakeDecisionPoint, locked: Quarter
) -> None:
    ident = locked.objective.id
    with pytest.raises(InvalidValue, match="as it is"):
        ledger.request_objective_change(EXEC, ident, {"title": "Strengthen operations"}, None)
    with pytest.raises(Forbidden):
        ledger.request_objective_change(TOM, ident, {"title": "Tom's"}, None)
    requested = ledger.request_objective_change(EXEC, ident, {"owner": "lena"}, "Lena leads")
    assert point.asked[-1]["resource"] | {} == {
        "kind": "objective", "id": str(ident), "before": point.asked[-1]["resource"]["before"],
        "after": {**point.asked[-1]["resource"]["before"], "owner": "lena"},
        "words": {"title": " strengthen operations "},
    }  # fmt: skip
    before = last_position(ledger)
    ledger.approve_change(RAJ, requested.id)
    assert "Objective.Amended" in kinds(events_after(ledger, before))
    objective = ledger.load(Objective, ident, to_change=False)
    assert objective.owner == "lena"


def test_a_new_key_result_is_requested_and_added_on_approval(
    ledger: Ledger, locked: Quarter
) -> None:
    requested = ledger.request_key_result(
        EXEC, locked.objective.id, definition(title="Fewer breaks"), "regulator asked"
    )
    before = last_position(ledger)
    ledger.approve_change(RAJ, requested.id)
    assert kinds(events_after(ledger, before)) == [
        "ChangeRequest.Approved", "KeyResult.Added", "Objective.KeyResultAttached",
        "ChangeRequest.Applied", "Decision.Recorded",
    ]  # fmt: skip


def test_a_new_objective_is_requested_and_created_on_approval(
    ledger: Ledger, point: FakeDecisionPoint, locked: Quarter
) -> None:
    with pytest.raises(InvalidValue, match="needs a owner"):
        ledger.request_objective(EXEC, locked.cycle.id, {"title": "No owner"}, None)
    proposal = {"title": "Resilience", "owner": "lena", "level": "team",
                "commitment": "aspirational", "parent_id": str(locked.objective.id)}  # fmt: skip
    requested = ledger.request_objective(EXEC, locked.cycle.id, proposal, "new risk")
    assert point.asked[-1]["resource"]["kind"] == "objective"
    before = last_position(ledger)
    ledger.approve_change(RAJ, requested.id)
    assert kinds(events_after(ledger, before)) == [
        "ChangeRequest.Approved", "Objective.Created", "Cycle.ObjectiveRegistered",
        "ChangeRequest.Applied", "Decision.Recorded",
    ]  # fmt: skip
    cycle = ledger.load(Cycle, locked.cycle.id, to_change=False)
    assert len(cycle.objective_ids) == 2


# ---- policy versions ---------------------------------------------------------------------


class ProposalChecks:
    """Stands in for the Rego checks of a proposal: passes, and keeps what it was given."""

    def __init__(self) -> None:
        self.checked: list[PolicyBundle] = []

    def __call__(self, reviews: Any, bundle: PolicyBundle) -> list[Any]:
        self.checked.append(bundle)
        return []


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> ProposalChecks:
    stand_in = ProposalChecks()
    monkeypatch.setattr(policies, "check_proposal", stand_in)
    return stand_in


def _propose(ledger: Ledger, by: Principal = RITA) -> Any:
    bundle = load_shipped_bundle()
    modules = {**bundle.modules, "extra_test.rego": "package extra_test\n"}
    return ledger.propose_policy(by, modules, bundle.data, "Tighter risk appetite")


def test_a_risk_officer_proposes_and_another_approves_a_policy_version(
    ledger: Ledger, point: FakeDecisionPoint, checks: ProposalChecks
) -> None:
    with pytest.raises(Forbidden):
        _propose(ledger, by=TOM)
    before = last_position(ledger)
    proposed = _propose(ledger)
    assert sorted(kinds(events_after(ledger, before))) == [
        "PolicyRegistry.VersionNumbered", "PolicyVersion.Proposed",
    ]  # fmt: skip
    [checked] = checks.checked
    assert list(checked.tests) == ["extra_test.rego"]  # tests apart from the policy modules
    assert point.asked == []  # the guardrails do not judge the guardrails
    with pytest.raises(SelfApproval):
        ledger.approve_policy(RITA, proposed.id)
    before = last_position(ledger)
    ledger.approve_policy(RAJ, proposed.id)
    assert sorted(kinds(events_after(ledger, before))) == [
        "PolicyRegistry.VersionActivated", "PolicyVersion.Approved", "PolicyVersion.Retired",
    ]  # fmt: skip
    assert ledger.registry().active_number == 2
    ledger.open_cycle(EXEC, "2027-Q1", datetime(2027, 1, 1).date(), datetime(2027, 3, 31).date())
    assert [n for n, _ in point.loaded] == [2]  # the guard loads the newly active version


def test_simulate_compares_the_versions_on_the_cycle_and_replays_denials(
    ledger: Ledger,
    point: FakeDecisionPoint,
    quarter: Quarter,
    checks: ProposalChecks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point.deny("key_result.add", "no_pay_link")
    with pytest.raises(GuardrailViolation):
        ledger.add_key_result(EXEC, quarter.objective.id, definition(pay_linked=True))
    denied = events_after(ledger, last_position(ledger) - 1)[0].originator_id
    proposed = _propose(ledger)
    jobs: list[WhatIf] = []

    def whatif(reviews: Any, job: WhatIf) -> dict[str, Any]:
        jobs.append(job)
        allowed: dict[str, list[str]] = {"deny": [], "warn": []}
        return {
            "engine": reviews.engine,
            "documents": [{"id": d["id"], "active": allowed,
                           "proposed": {"deny": ["risk_cap"], "warn": []}}
                          for d in job.documents],
            "replays": [{"id": r["id"], "proposed": allowed} for r in job.replays],
            "proposal_tests": {}, "active_tests": {}, "over_budget": [],
        }  # fmt: skip

    monkeypatch.setattr(policies, "run_whatif", whatif)
    with pytest.raises(Forbidden):
        ledger.simulate_policy(TOM, proposed.id, quarter.cycle.id)
    before = last_position(ledger)
    report = ledger.simulate_policy(CARA, proposed.id, quarter.cycle.id, [denied])
    assert last_position(ledger) == before  # a what-if records nothing
    [job] = jobs
    assert [d["id"] for d in job.documents] == [str(quarter.key_result.id)]
    assert (report["policy_version"], report["compared_with_version"]) == (2, 1)
    assert report["engine"] == "embedded"  # the reviews' engine, named by the worker
    [change] = report["changes"]
    assert change["key_result_id"] == str(quarter.key_result.id)
    assert change["newly_denied"] == ["risk_cap"]
    lifted = report["replayed_denials"]["no_longer_denied"]
    assert [d["decision_id"] for d in lifted] == [str(denied)]


# ---- snapshots ---------------------------------------------------------------------------


def test_seal_a_closed_cycle_then_verify_and_read_it(
    ledger: Ledger, point: FakeDecisionPoint, locked: Quarter
) -> None:
    cycle_id = locked.cycle.id
    with pytest.raises(InvalidTransition, match="only a closed cycle"):
        ledger.seal_cycle(EXEC, cycle_id)
    with pytest.raises(NotSealed):
        ledger.verify_seal(EXEC, cycle_id)
    closed = ledger.close_cycle(EXEC, cycle_id, "closed before its end date in a test")
    with pytest.raises(Forbidden):
        ledger.seal_cycle(TOM, cycle_id)
    sealed = ledger.seal_cycle(EXEC, cycle_id)
    assert kinds(events_after(ledger, closed.position)) == ["Cycle.Sealed", "Decision.Recorded"]
    assert point.actions[-1] == "cycle.seal"
    check = ledger.verify_seal(TOM, cycle_id)
    assert check.matches and check.sealed_position == closed.position
    assert check.sealed_by == "priya"
    as_sealed = ledger.snapshot(TOM, cycle_id, closed.position)
    assert as_sealed.digest == check.sealed_digest
    assert ledger.snapshot(TOM, cycle_id, datetime.now(UTC)).position == sealed.position
    with pytest.raises(InvalidValue):
        ledger.snapshot(TOM, cycle_id, 0)
    with pytest.raises(Forbidden):
        ledger.snapshot(Principal.of("nobody", []), cycle_id)
    with pytest.raises(InvalidTransition, match="already sealed"):
        ledger.seal_cycle(EXEC, cycle_id)
