"""The guardrails through HTTP: every rule that stops or warns a command answers as the
public contract says (422 ``guardrail_denied`` listing ``{rule, message}``, 409 for the
state rules, warnings in the success answer), every decision is recorded with the policy
version, the bundle digest and the input digest, and an engine that cannot answer fails
closed (503, nothing changed but the failed decision recorded)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from e2e_support import MARCUS, PRIYA, TOM, decisions, denied, ok, position, recorded_since, rules
from fastapi.testclient import TestClient
from okr_builders import definition
from opa_double import OpaServerDouble

from events.decision import Decision
from infra.config import Settings
from policies.bundle import SHIPPED_BUNDLE_DIR
from services.api import create_app
from services.bootstrap import Platform, build

AuthHeaders = Callable[..., dict[str, str]]
HEX64 = re.compile(r"^[0-9a-f]{64}$")

#: The shipped data document: thresholds and word lists the rules read.
DATA: dict[str, Any] = json.loads((SHIPPED_BUNDLE_DIR / "data.json").read_text("utf-8"))


def new_objective(
    client: TestClient, cycle_id: str, title: str, headers: dict[str, str], owner: str = "priya"
) -> dict[str, Any]:
    body = {
        "cycle_id": cycle_id,
        "title": title,
        "owner": owner,
        "level": "team",
        "commitment": "committed",
    }
    return ok(client.post("/v1/objectives", json=body, headers=headers), 201)


# ---- pay_linked and the decision record -----------------------------------------------


def test_pay_linked_is_denied_and_the_attempt_is_recorded_with_version_and_digests(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    priya, marcus = auth(*PRIYA), auth(*MARCUS)
    path = f"/v1/objectives/{world['objective']}/key-results"
    bonus = definition(title="Fund admin migration on time", unit="%", pay_linked=True)
    bonus.update(baseline=0, target=100, direction="increase")
    error = denied(client, platform, "POST", path, priya, json=bonus)
    assert error["code"] == "guardrail_denied"
    assert rules(error["details"]) == ["pay_linked"]
    assert "pay" in error["details"][0]["message"].lower()
    assert "Fund admin migration on time" in error["details"][0]["message"]

    # The same key result with the flag false is accepted: the boolean is read both ways.
    accepted = ok(client.post(path, json={**bonus, "pay_linked": False}, headers=priya), 201)
    assert accepted["pay_linked"] is False

    active = ok(client.get("/v1/policies/active", headers=marcus))
    assert (active["number"], active["status"]) == (1, "active")
    assert HEX64.match(active["digest"])

    [attempt] = decisions(client, platform, marcus, outcome="denied")
    assert attempt["actor"] == "priya"
    assert attempt["roles"] == ["executive"]
    assert attempt["action"] == "key_result.add"
    assert attempt["outcome"] == "denied"
    assert rules(attempt["deny"]) == ["pay_linked"]
    assert attempt["deny"][0]["message"] == error["details"][0]["message"]
    assert attempt["policy_version"] == 1
    assert attempt["bundle_digest"] == active["digest"]
    assert HEX64.match(attempt["input_digest"])
    assert attempt["error"] is None

    allowed = decisions(client, platform, marcus, outcome="allowed")
    # cycle.open, objective.create, the fixture's key result, the accepted one.
    assert [d["action"] for d in allowed] == [
        "key_result.add",
        "key_result.add",
        "objective.create",
        "cycle.open",
    ]
    assert allowed[0]["target_id"] == accepted["id"]
    assert allowed[0]["input_digest"] != attempt["input_digest"]  # only the flag differs
    for decision in allowed:
        assert decision["outcome"] == "allowed"
        assert decision["deny"] == []
        assert (decision["policy_version"], decision["bundle_digest"]) == (1, active["digest"])
        assert HEX64.match(decision["input_digest"])
    # Filters by actor and action find the same attempt.
    assert decisions(
        client, platform, marcus, actor="priya", action="key_result.add", outcome="denied"
    ) == [attempt]
    assert decisions(client, platform, marcus, actor="tom") == []


def test_the_denied_caller_reads_its_own_attempt_at_once(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    """A denial records a decision, so it counts as the caller's write: the answer carries
    its position and the same caller's next read waits for it (read-your-writes)."""
    priya = auth(*PRIYA)
    bonus = definition(title="Bonus-linked fund admin migration", pay_linked=True)
    path = f"/v1/objectives/{world['objective']}/key-results"
    answer = client.post(path, json=bonus, headers=priya)
    assert answer.status_code == 422
    assert int(answer.headers["X-Okrgov-Position"]) == position(platform)
    seen = ok(client.get("/v1/decisions", params={"outcome": "denied"}, headers=priya))
    assert [d["action"] for d in seen["items"]] == ["key_result.add"]


# ---- the other denials ------------------------------------------------------------------


def test_risk_rating_above_the_appetite_of_its_domain_is_denied(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    priya = auth(*PRIYA)
    path = f"/v1/objectives/{world['objective']}/key-results"
    appetite = DATA["risk_appetite"]["operational"]
    risky = definition(
        title="Cut manual steps in LP reporting",
        unit="steps",
        baseline=40,
        target=10,
        risk_domain="operational",
        risk_rating=appetite + 1,
    )
    error = denied(client, platform, "POST", path, priya, json=risky)
    assert (error["code"], rules(error["details"])) == ("guardrail_denied", ["risk_appetite"])
    message = error["details"][0]["message"]
    assert "operational" in message and str(appetite) in message
    within = ok(client.post(path, json={**risky, "risk_rating": appetite}, headers=priya), 201)
    assert within["risk_rating"] == appetite
    # A revision that raises the rating above the appetite is stopped the same way.
    error = denied(
        client,
        platform,
        "PATCH",
        f"/v1/key-results/{within['id']}",
        priya,
        json={"risk_rating": appetite + 1},
    )
    assert rules(error["details"]) == ["risk_appetite"]
    [attempt] = decisions(client, platform, priya, outcome="denied", action="key_result.revise")
    assert attempt["target_id"] == within["id"]


def test_a_sixth_key_result_is_denied(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    priya = auth(*PRIYA)
    path = f"/v1/objectives/{world['objective']}/key-results"
    limit = DATA["limits"]["max_key_results_per_objective"]
    for n in range(2, limit + 1):  # the fixture's key result is the first
        title = f"Reporting errors per quarter, fund {n}"
        ok(client.post(path, json=definition(title=title), headers=priya), 201)
    sixth = definition(title="Reporting errors per quarter, fund 6")
    error = denied(client, platform, "POST", path, priya, json=sixth)
    assert (error["code"], rules(error["details"])) == ("guardrail_denied", ["key_result_limit"])
    assert str(limit) in error["details"][0]["message"]
    objective = ok(client.get(f"/v1/objectives/{world['objective']}", headers=priya))
    assert len(objective["key_results"]) == limit


def test_sales_volume_for_a_client_facing_owner_is_denied(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    """Job roles are the people directory's (as SCIM or the demo provisioned them), read
    when the command is judged; the policy's data names nobody."""
    priya = auth(*PRIYA)
    path = f"/v1/objectives/{world['objective']}/key-results"
    directory = platform.ledger.directory
    directory.provision("tom", {"name": "Tom Becker", "job_role": "investor_relations"}, by="sam")
    directory.provision(
        "elena", {"name": "Elena Petrova", "job_role": "portfolio_manager"}, by="sam"
    )
    assert "investor_relations" in DATA["client_facing_roles"] and "job_roles" not in DATA
    assert "capital raised" in DATA["sales_volume_terms"]
    raise_capital = definition(
        title="Capital raised for Fund IV",
        owner="tom",
        unit="EUR m",
        baseline=0,
        target=150,
        direction="increase",
    )
    error = denied(client, platform, "POST", path, priya, json=raise_capital)
    assert (error["code"], rules(error["details"])) == ("guardrail_denied", ["sales_conduct"])
    message = error["details"][0]["message"]
    assert "capital raised" in message and "tom" in message and "investor_relations" in message
    # A volume word in the unit counts as well ("Cross-sell" is normalised to "cross sell").
    error = denied(
        client,
        platform,
        "POST",
        path,
        priya,
        json={**raise_capital, "title": "LP relationships deepened", "unit": "Cross-sell deals"},
    )
    assert rules(error["details"]) == ["sales_conduct"]
    # Nor do a dotted capital I, fullwidth letters or no-break spaces hide a volume term: the
    # platform folds the words it gives the rules, the same for every engine.
    for disguised in (
        "NET \u0130NFLOWS FROM LPS",
        "\uff4e\uff45\uff54 inflows",
        "Net\u00a0inflows",
    ):
        error = denied(
            client, platform, "POST", path, priya, json={**raise_capital, "title": disguised}
        )
        assert rules(error["details"]) == ["sales_conduct"], disguised
    # The decision records what the directory said of the people it named.
    marcus = auth(*MARCUS)
    attempts = decisions(client, platform, marcus, outcome="denied")
    assert attempts
    for attempt in attempts:
        recorded = platform.ledger.load(Decision, UUID(attempt["id"]), to_change=False).input
        assert recorded is not None
        assert recorded["people"]["tom"] == {"job_role": "investor_relations", "active": True}
        assert set(recorded["people"]) <= {"tom", "elena", "priya"}
    # The same measure owned by someone who does not face clients is accepted.
    kept = ok(client.post(path, json={**raise_capital, "owner": "elena"}, headers=priya), 201)
    assert kept["owner"] == "elena"
    # ...and by someone the directory does not know (no job role, so none client-facing).
    ok(client.post(path, json={**raise_capital, "owner": "nina"}, headers=priya), 201)
    # Tom moves to operations in the directory: the rule reads the change at once.
    directory.update("tom", {"job_role": "operations"}, by="sam")
    moved = {**raise_capital, "title": "Capital raised for Fund V"}
    ok(client.post(path, json=moved, headers=priya), 201)
    # ...and so is a client-outcome measure for the client-facing owner.
    ok(
        client.post(
            path,
            json=definition(
                title="LP complaints per quarter", unit="complaints", baseline=6, target=2
            ),
            headers=priya,
        ),
        201,
    )


# ---- warnings ---------------------------------------------------------------------------


def test_an_activity_worded_key_result_is_accepted_with_a_warning(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    priya, marcus = auth(*PRIYA), auth(*MARCUS)
    path = f"/v1/objectives/{world['objective']}/key-results"
    assert "launch" in DATA["activity_words"]["first"]
    activity = definition(
        title="Launch the LP portal", unit="done", baseline=0, target=1, direction="milestone"
    )
    answer = ok(client.post(path, json=activity, headers=priya), 201)
    assert rules(answer["warnings"]) == ["activity_not_outcome"]
    assert "Launch the LP portal" in answer["warnings"][0]["message"]
    assert answer["title"] == "Launch the LP portal"
    decision = decisions(client, platform, marcus, action="key_result.add", limit=1)[0]
    assert (decision["outcome"], decision["target_id"]) == ("allowed", answer["id"])
    assert decision["warn"] == answer["warnings"]
    # The key result is recorded; a plain read carries no warnings of past writes.
    read = ok(client.get(f"/v1/key-results/{answer['id']}", headers=priya))
    assert read["title"] == "Launch the LP portal"
    assert read.get("warnings", []) == []
    # An outcome-worded one has none.
    outcome = definition(title="LP portal adoption", unit="%", baseline=0, target=60)
    outcome["direction"] = "increase"
    assert ok(client.post(path, json=outcome, headers=priya), 201).get("warnings", []) == []


def test_an_objective_title_with_digits_is_accepted_with_a_warning(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    priya = auth(*PRIYA)
    answer = new_objective(client, world["cycle"], "Raise LP satisfaction to 9 out of 10", priya)
    assert rules(answer["warnings"]) == ["objective_title_shape"]
    assert "digits" in answer["warnings"][0]["message"]
    [decision] = decisions(client, platform, priya, action="objective.create", limit=1)
    assert (decision["outcome"], decision["target_id"]) == ("allowed", answer["id"])
    assert rules(decision["warn"]) == ["objective_title_shape"]
    qualitative = new_objective(client, world["cycle"], "Delight our limited partners", priya)
    assert qualitative.get("warnings", []) == []


# ---- after lock ------------------------------------------------------------------------


def test_a_post_lock_edit_is_refused_and_the_change_request_path_is_allowed(
    client: TestClient, platform: Platform, auth: AuthHeaders, locked_world: dict[str, str]
) -> None:
    tom, priya, marcus = auth(*TOM), auth(*PRIYA), auth(*MARCUS)
    kr = locked_world["key_result"]
    error = denied(
        client,
        platform,
        "PATCH",
        f"/v1/key-results/{kr}",
        tom,
        status=409,
        json={"target": 10, "reason": "fund admin migration slipped"},
    )
    assert error["code"] == "change_needs_approval"
    assert rules(error["details"]) == ["changes_after_lock"]
    assert "/v1/change-requests" in error["message"]
    [attempt] = decisions(client, platform, marcus, outcome="denied")
    assert (attempt["actor"], attempt["action"], attempt["target_id"]) == (
        "tom",
        "key_result.revise",
        kr,
    )
    assert rules(attempt["deny"]) == ["changes_after_lock"]
    assert ok(client.get(f"/v1/key-results/{kr}", headers=tom))["target"] == 8

    request = ok(
        client.post(
            "/v1/change-requests",
            json={
                "key_result_id": kr,
                "changes": {"target": 10},
                "reason": "fund administrator migration slipped",
            },
            headers=tom,
        ),
        201,
    )
    approved = ok(client.post(f"/v1/change-requests/{request['id']}/approve", headers=priya))
    assert approved["status"] == "applied"
    assert ok(client.get(f"/v1/key-results/{kr}", headers=tom))["target"] == 10
    active = ok(client.get("/v1/policies/active", headers=marcus))
    for action, actor in [("change_request.request", "tom"), ("change_request.approve", "priya")]:
        [decision] = decisions(client, platform, marcus, action=action)
        assert (decision["outcome"], decision["actor"]) == ("allowed", actor)
        assert (decision["policy_version"], decision["bundle_digest"]) == (1, active["digest"])
    # Only the one attempt was ever denied.
    assert len(decisions(client, platform, marcus, outcome="denied")) == 1


# ---- who may touch the policies -----------------------------------------------------------


def test_only_risk_officers_propose_and_compliance_reads_the_record(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    marcus = auth(*MARCUS)
    active = ok(client.get("/v1/policies/active", headers=marcus))
    proposal = {
        "modules": active["modules"],
        "data": {**active["data"], "risk_appetite": {**active["data"]["risk_appetite"]}},
        "description": "no limits for me",
    }
    proposal["data"]["risk_appetite"]["investment"] = 5
    before = position(platform)
    for who in (TOM, MARCUS, PRIYA, ("sam", "admin")):
        answer = client.post("/v1/policies", json=proposal, headers=auth(*who))
        assert answer.status_code == 403, (who, answer.text)
        assert answer.json()["error"]["code"] == "forbidden"
        approve = client.post(f"/v1/policies/{active['id']}/approve", headers=auth(*who))
        assert approve.status_code == 403, (who, approve.text)
    assert position(platform) == before

    listing = ok(client.get("/v1/policies", headers=marcus))["items"]
    assert [(p["number"], p["status"]) for p in listing] == [(1, "active")]
    assert (
        ok(client.get(f"/v1/policies/{active['id']}", headers=marcus))["digest"] == active["digest"]
    )
    seen = decisions(client, platform, marcus)
    assert {d["action"] for d in seen} == {"cycle.open", "objective.create", "key_result.add"}
    assert {d["actor"] for d in seen} == {"priya"}


# ---- fail closed --------------------------------------------------------------------------


@pytest.fixture
def opa() -> Iterator[OpaServerDouble]:
    """A test double of an OPA server (tests/opa_double.py), not OPA itself."""
    with OpaServerDouble() as double:
        yield double


@pytest.fixture
def opa_platform(tmp_path: Path, opa: OpaServerDouble) -> Iterator[Platform]:
    platform = build(
        Settings(
            data_dir=tmp_path,
            secret_key="test-secret-of-enough-length-for-hs256",
            policy_engine="opa",
            opa_url=opa.url,
        )
    )
    platform.start()
    try:
        yield platform
    finally:
        platform.close()


@pytest.fixture
def opa_client(opa_platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(opa_platform)) as client:
        yield client


@pytest.mark.parametrize("outage", ["stopped", "failing"])
def test_an_unreachable_policy_engine_fails_closed(
    opa: OpaServerDouble, opa_platform: Platform, opa_client: TestClient, outage: str
) -> None:
    platform, client = opa_platform, opa_client

    def auth(user: str, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {platform.tokens.create(user, list(roles))}"}

    priya, tom, marcus = auth(*PRIYA), auth(*TOM), auth(*MARCUS)
    cycle = ok(
        client.post(
            "/v1/cycles",
            json={"name": "2026-Q4", "starts_on": "2026-10-01", "ends_on": "2026-12-31"},
            headers=priya,
        ),
        201,
    )
    objective = new_objective(
        client, cycle["id"], "Strengthen our operational infrastructure", priya
    )
    kr = ok(
        client.post(
            f"/v1/objectives/{objective['id']}/key-results", json=definition(), headers=priya
        ),
        201,
    )
    check_ins = f"/v1/key-results/{kr['id']}/check-ins"
    first = ok(client.post(check_ins, json={"value": 13, "confidence": 0.6}, headers=tom), 201)
    assert first["check_in_count"] == 1
    assert ("POST", "/v1/data/okrgov/guardrails/deny") in opa.requests  # the double decided
    # The double's verdicts are the guardrails': a pay-linked key result is still denied.
    bonus = client.post(
        f"/v1/objectives/{objective['id']}/key-results",
        json=definition(title="Bonus-linked turnaround", pay_linked=True),
        headers=priya,
    )
    assert bonus.status_code == 422, bonus.text
    assert rules(bonus.json()["error"]["details"]) == ["pay_linked"]

    if outage == "stopped":
        opa.stop()
    else:
        opa.fail(500)
    before = position(platform)
    refused = client.post(check_ins, json={"value": 12, "confidence": 0.5}, headers=tom)
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"] == "1"
    error = refused.json()["error"]
    assert error["code"] == "policy_unavailable"
    assert "nothing was changed" in error["message"]

    # Nothing but the failed decision was recorded.
    [failed] = recorded_since(platform, before)
    assert type(failed).__qualname__ == "Decision.Recorded"
    assert failed.outcome == "error"
    [shown] = decisions(client, platform, marcus, outcome="error")
    assert (shown["actor"], shown["action"], shown["target_id"]) == (
        "tom",
        "key_result.check_in",
        kr["id"],
    )
    assert shown["policy_version"] is None and shown["bundle_digest"] is None
    assert HEX64.match(shown["input_digest"])
    assert shown["error"]
    after = ok(client.get(f"/v1/key-results/{kr['id']}", headers=tom))
    assert after["check_in_count"] == 1
    assert after["latest_check_in"]["value"] == 13

    if outage == "failing":  # once the engine answers again, so do the guardrails
        opa.recover()
        again = ok(client.post(check_ins, json={"value": 12, "confidence": 0.5}, headers=tom), 201)
        assert again["check_in_count"] == 2
