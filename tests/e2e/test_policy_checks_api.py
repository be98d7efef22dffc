"""A version cannot quietly weaken the guardrails (issue 8, point 7).

A proposal is checked before it can be approved: its own tests, the shipped invariant
tests and the settings its rules read; a failure answers 422 ``policy_test_failed`` naming
each failing test, and nothing is recorded. The what-if shows what a version stops
denying: the active version's tests it fails, and recent denied attempts it would allow."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from uuid import UUID

from e2e_support import ANA, MARCUS, OMAR, PRIYA, decisions, ok, position, rules
from fastapi.testclient import TestClient
from okr_builders import definition
from policy_bundles import GUARDRAILS, SHIPPED

from events.policy import PolicyVersion
from policies.bundle import input_digest
from services.bootstrap import Platform

AuthHeaders = Callable[..., dict[str, str]]
INVARIANTS = "data.okrgov.invariants_test."


def propose(
    client: TestClient, auth: AuthHeaders, modules: dict[str, str], data: dict[str, Any]
) -> Any:
    body = {"modules": modules, "data": data, "description": "a new version"}
    return client.post("/v1/policies", json=body, headers=auth(*ANA))


def refused(answer: Any) -> dict[str, dict[str, Any]]:
    """The failing checks of a 422 ``policy_test_failed``, by test name."""
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "policy_test_failed"
    for detail in error["details"]:
        assert {"field", "rule", "message", "test", "outcome", "location", "culprit"} <= set(detail)
    return {d["test"]: d for d in error["details"]}


def test_modules_without_data_are_refused_and_the_limits_hold(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    """The issue's story: a version sent with modules and no data was accepted, approved,
    and then an objective took 7 key results and a rating of 5 passed an appetite of 3."""
    priya, omar = auth(*PRIYA), auth(*OMAR)
    before = position(platform)
    answer = propose(client, auth, SHIPPED.modules, {})
    failed = refused(answer)
    assert failed["data.limits"]["field"] == "data.limits"
    assert failed["data.limits"]["rule"] == "data_setting"
    assert failed["data.limits"]["location"].startswith(f"{GUARDRAILS}:")
    assert failed["data.risk_appetite"]["outcome"] == "missing"
    for invariant in (
        "test_ratings_above_the_appetite_are_denied",
        "test_more_key_results_than_the_limit_are_denied",
    ):
        assert failed[INVARIANTS + invariant]["outcome"] == "undefined"
        assert failed[INVARIANTS + invariant]["location"].startswith("invariants_test.rego:")
    assert position(platform) == before  # nothing recorded: there is nothing to approve
    listing = ok(client.get("/v1/policies", headers=omar))["items"]
    assert [(p["number"], p["status"]) for p in listing] == [(1, "active")]

    # Version 1 still decides: the sixth key result and a rating over 3 are denied.
    objective = world["objective"]
    for i in range(4):
        ok(
            client.post(
                f"/v1/objectives/{objective}/key-results",
                json=definition(title=f"Operational measure {i}"),
                headers=priya,
            ),
            201,
        )
    sixth = client.post(
        f"/v1/objectives/{objective}/key-results",
        json=definition(title="Operational measure 6"),
        headers=priya,
    )
    assert rules(sixth.json()["error"]["details"]) == ["key_result_limit"]
    risky = client.post(
        f"/v1/objectives/{objective}/key-results",
        json=definition(title="Risky measure", risk_domain="credit", risk_rating=5),
        headers=priya,
    )
    assert "risk_appetite" in rules(risky.json()["error"]["details"])


def test_a_version_that_drops_a_guardrail_is_refused_naming_the_invariant(
    client: TestClient, platform: Platform, auth: AuthHeaders
) -> None:
    text = SHIPPED.modules[GUARDRAILS].replace(
        'violation("pay_linked", msg)', 'violation("pay_linked_noted", msg)'
    )
    before = position(platform)
    failed = refused(propose(client, auth, {GUARDRAILS: text}, SHIPPED.data))
    invariant = failed[INVARIANTS + "test_pay_linked_key_results_are_denied"]
    assert (invariant["field"], invariant["rule"], invariant["outcome"]) == (
        "modules",
        "invariant",
        "undefined",
    )
    assert position(platform) == before


def test_a_version_failing_its_own_test_is_refused_naming_it(
    client: TestClient, platform: Platform, auth: AuthHeaders
) -> None:
    mine = (
        "package okrgov.mine_test\n\nimport rego.v1\n\n"
        "test_conduct_appetite_is_three if data.risk_appetite.conduct == 3\n"
    )
    failed = refused(
        propose(client, auth, {**SHIPPED.modules, "mine_test.rego": mine}, SHIPPED.data)
    )
    assert list(failed) == ["data.okrgov.mine_test.test_conduct_appetite_is_three"]
    [detail] = failed.values()
    assert (detail["field"], detail["location"], detail["outcome"]) == (
        "modules.mine_test.rego",
        "mine_test.rego:5",
        "undefined",
    )


def test_a_version_s_tests_are_kept_with_it_and_the_seed_keeps_the_shipped_tests(
    client: TestClient, platform: Platform, auth: AuthHeaders
) -> None:
    seeded = ok(client.get("/v1/policies/active", headers=auth(*MARCUS)))
    version_1 = platform.ledger.repository.get(UUID(seeded["id"]))
    assert isinstance(version_1, PolicyVersion) and version_1.tests == SHIPPED.tests
    proposed = ok(propose(client, auth, {**SHIPPED.modules, **SHIPPED.tests}, SHIPPED.data), 201)
    version_2 = platform.ledger.repository.get(UUID(proposed["id"]))
    assert version_2.tests == SHIPPED.tests
    assert version_2.modules == SHIPPED.modules == proposed["modules"]
    assert proposed["digest"] == seeded["digest"] == SHIPPED.digest()


def test_the_what_if_shows_the_denials_a_version_stops_making(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    """The board raises the conduct appetite from 2 to 3: a valid version (it passes the
    invariants with its own appetite), whose what-if shows the shipped test it fails and
    the denied attempt of a conduct key result rated 3 it would now allow."""
    priya, ana, marcus = auth(*PRIYA), auth(*ANA), auth(*MARCUS)
    objective = world["objective"]
    conduct = definition(title="Suitability reviews on time", risk_domain="conduct", risk_rating=3)
    denied_rating = client.post(
        f"/v1/objectives/{objective}/key-results", json=conduct, headers=priya
    )
    assert rules(denied_rating.json()["error"]["details"]) == ["risk_appetite"]
    bonus = definition(title="Bonus turnaround", pay_linked=True)
    denied_bonus = client.post(f"/v1/objectives/{objective}/key-results", json=bonus, headers=priya)
    assert rules(denied_bonus.json()["error"]["details"]) == ["pay_linked"]
    attempts = {d["id"]: d for d in decisions(client, platform, marcus, outcome="denied")}
    assert len(attempts) == 2
    for attempt in attempts.values():  # each denial keeps the input it was judged on
        stored = platform.ledger.repository.get(UUID(attempt["id"])).input
        assert input_digest(stored) == attempt["input_digest"]

    data = copy.deepcopy(SHIPPED.data)
    data["risk_appetite"]["conduct"] = 3
    raised = ok(propose(client, auth, SHIPPED.modules, data), 201)
    before = position(platform)
    report = ok(
        client.post(
            f"/v1/policies/{raised['id']}/simulate",
            json={"cycle_id": world["cycle"], "replay": {"limit": 10}},
            headers=ana,
        )
    )
    assert position(platform) == before
    assert report["proposal_tests"] == {"results": [], "error": None}  # it sent none

    active = report["active_tests"]
    assert active["version"] == 1
    passed_before = {r["name"] for r in active["under_active"]["results"] if r["passed"]}
    failing_now = {r["name"]: r for r in active["under_proposal"]["results"] if not r["passed"]}
    assert passed_before >= set(failing_now)
    dropped = "data.okrgov.guardrails_test.test_rating_above_appetite_is_denied"
    assert dropped in failing_now
    assert failing_now[dropped]["location"].startswith("guardrails_test.rego:")

    replayed = report["replayed_denials"]
    assert (replayed["considered"], replayed["without_input"]) == (2, 0)
    [lifted] = replayed["no_longer_denied"]
    assert lifted["decision_id"] in attempts
    assert (lifted["action"], lifted["actor"], lifted["denied_by"]) == (
        "key_result.add",
        "priya",
        ["risk_appetite"],
    )
    assert (lifted["under_proposal"], lifted["policy_version"]) == ([], 1)
    assert replayed["denied_otherwise"] == []  # the pay-linked one stays denied, as it was
    assert report["over_budget"] == []

    nothing = ok(
        client.post(
            f"/v1/policies/{raised['id']}/simulate",
            json={"cycle_id": world["cycle"], "replay": {"limit": 0}},
            headers=ana,
        )
    )
    assert nothing["replayed_denials"]["considered"] == 0
    too_many = client.post(
        f"/v1/policies/{raised['id']}/simulate",
        json={"cycle_id": world["cycle"], "replay": {"limit": 1000}},
        headers=ana,
    )
    assert too_many.status_code == 422
    assert too_many.json()["error"]["details"][0]["field"] == "replay.limit"


def test_a_version_shows_the_tests_it_was_proposed_with(
    client: TestClient, auth: AuthHeaders
) -> None:
    version_1 = ok(client.get("/v1/policies/active", headers=auth("ana", "risk_officer")))
    assert "guardrails_test.rego" in version_1["tests"]
    assert "guardrails_test.rego" not in version_1["modules"]
