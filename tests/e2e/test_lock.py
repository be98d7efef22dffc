"""The lock covers everything that is scored: after lock an objective's definition and
existence, and adding a key result or an objective, change only through a change request
approved by a second person in a role allowed to approve, with the same evidence as a key
result's change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from e2e_support import (
    ANA,
    MARCUS,
    NEW_KR,
    OMAR,
    PRIYA,
    TOM,
    denied,
    ok,
    position,
    recorded_since,
    refused,
    tom_objective,
)
from fastapi.testclient import TestClient

from events.decision import Decision
from events.objective import Objective
from services.bootstrap import Platform

AuthHeaders = Callable[..., dict[str, str]]


@pytest.fixture
def team(client: TestClient, auth: AuthHeaders, world: dict[str, str]) -> dict[str, str]:
    """``world`` plus Tom's own team objective under Priya's, then the cycle locked."""
    objective = tom_objective(client, auth(*TOM), world["cycle"], parent=world["objective"])
    ok(client.post(f"/v1/cycles/{world['cycle']}/lock", headers=auth(*PRIYA)))
    return {**world, "team": objective["id"]}


def request(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    return ok(client.post("/v1/change-requests", json=body, headers=headers), 201)


def objective_writes(team: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    objective = team["team"]
    return [
        ("PATCH", f"/v1/objectives/{objective}", {"title": "Faster LP reporting for all"}),
        ("POST", f"/v1/objectives/{objective}/reown", {"owner": "lena", "reason": "moved"}),
        ("POST", f"/v1/objectives/{objective}/realign", {"parent_id": None, "reason": "x"}),
        ("POST", f"/v1/objectives/{objective}/retire", {"reason": "not needed"}),
        ("POST", f"/v1/objectives/{objective}/key-results", NEW_KR),
        (
            "POST",
            "/v1/objectives",
            {
                "cycle_id": team["cycle"],
                "title": "Another aim for the quarter",
                "owner": "tom",
                "level": "team",
                "commitment": "aspirational",
            },
        ),
    ]


@pytest.mark.parametrize("who", [TOM, PRIYA], ids=["owner", "executive"])
@pytest.mark.parametrize("index", range(6))
def test_after_lock_no_one_changes_an_objective_or_adds_directly(
    client: TestClient,
    platform: Platform,
    auth: AuthHeaders,
    team: dict[str, str],
    who: tuple[str, str],
    index: int,
) -> None:
    method, path, body = objective_writes(team)[index]
    error = denied(client, platform, method, path, auth(*who), status=409, json=body)
    assert error["code"] == "change_needs_approval"
    assert "/v1/change-requests" in error["message"]
    assert [d["rule"] for d in error["details"]] == ["changes_after_lock"]
    current = ok(client.get(f"/v1/objectives/{team['team']}", headers=auth(*PRIYA)))
    assert (current["title"], current["owner"], current["status"]) == (
        "Give our LPs faster, cleaner reporting",
        "tom",
        "active",
    )
    assert current["parent_id"] == team["objective"] and len(current["key_results"]) == 0


def test_an_objective_changes_through_an_approved_request_with_its_evidence(
    client: TestClient, platform: Platform, auth: AuthHeaders, team: dict[str, str]
) -> None:
    tom, priya = auth(*TOM), auth(*PRIYA)
    asked = request(
        client,
        tom,
        objective_id=team["team"],
        changes={"title": "Give every LP faster reporting", "owner": "Lena", "parent_id": None},
        reason="the reporting team moved to Lena",
    )
    assert (asked["kind"], asked["target_kind"], asked["target_id"]) == (
        "revise",
        "objective",
        team["team"],
    )
    assert asked["key_result_id"] is None and asked["status"] == "pending"
    assert asked["changes"]["owner"] == "lena"  # a user id, in its canonical form
    # Tom cannot decide it; nor can a risk officer; Priya can.
    assert client.post(f"/v1/change-requests/{asked['id']}/approve", headers=tom).status_code == 403
    before = position(platform)
    approved = ok(
        client.post(
            f"/v1/change-requests/{asked['id']}/approve",
            json={"reason": "agreed at the board"},
            headers=priya,
        )
    )
    assert (approved["status"], approved["decided_by"]) == ("applied", "priya")
    events = recorded_since(platform, before)
    amended = [e for e in events if isinstance(e, Objective.Amended)]
    assert len(amended) == 1 and amended[0].change_request_id.hex == asked["id"].replace("-", "")
    assert amended[0].changes == {
        "title": "Give every LP faster reporting",
        "owner": "lena",
        "parent_id": None,
    }
    assert amended[0].previous == {
        "title": "Give our LPs faster, cleaner reporting",
        "owner": "tom",
        "parent_id": team["objective"],
    }
    [decision] = [e for e in events if isinstance(e, Decision.Recorded)]
    assert (decision.action, decision.outcome, decision.actor) == (
        "change_request.approve",
        "allowed",
        "priya",
    )
    current = ok(client.get(f"/v1/objectives/{team['team']}", headers=priya))
    assert (current["title"], current["owner"], current["parent_id"]) == (
        "Give every LP faster reporting",
        "lena",
        None,
    )
    tree = ok(client.get(f"/v1/cycles/{team['cycle']}", headers=priya))
    assert {o["id"] for o in tree["objectives"]} == {team["objective"], team["team"]}

    view = ok(client.get("/v1/compliance/changes-after-lock", headers=auth(*MARCUS)))
    [item] = view["items"]
    assert (item["kind"], item["target_kind"], item["target_id"]) == (
        "revise",
        "objective",
        team["team"],
    )
    assert (item["requested_by"], item["approved_by"]) == ("tom", "priya")
    assert (item["reason"], item["approval_reason"]) == (
        "the reporting team moved to Lena",
        "agreed at the board",
    )
    assert item["changes"]["owner"] == {"before": "tom", "after": "lena"}
    assert item["decision_outcome"] == "allowed" and item["policy_version"] == 1
    approvals = ok(client.get("/v1/compliance/approvals", headers=auth(*MARCUS)))
    [decided] = approvals["change_requests"]
    assert decided["four_eyes"] is True and decided["target_kind"] == "objective"


def test_retiring_and_adding_after_lock_go_through_requests(
    client: TestClient, platform: Platform, auth: AuthHeaders, team: dict[str, str]
) -> None:
    tom, priya = auth(*TOM), auth(*PRIYA)
    add_kr = request(client, tom, objective_id=team["team"], new_key_result=NEW_KR, reason="a gap")
    add_objective = request(
        client,
        tom,
        cycle_id=team["cycle"],
        new_objective={
            "title": "Cut the fund administrator's error rate",
            "owner": "tom",
            "level": "team",
            "commitment": "aspirational",
            "parent_id": team["objective"],
        },
        reason="the admin migration needs its own aim",
    )
    retire = request(client, tom, objective_id=team["team"], retire=True, reason="merged")
    assert [r["kind"] for r in (add_kr, add_objective, retire)] == [
        "add_key_result",
        "add_objective",
        "retire",
    ]
    for asked in (add_kr, add_objective):
        ok(client.post(f"/v1/change-requests/{asked['id']}/approve", headers=priya))
    objective = ok(client.get(f"/v1/objectives/{team['team']}", headers=priya))
    [added] = objective["key_results"]
    assert (added["title"], added["owner"]) == (NEW_KR["title"], "tom")
    ok(
        client.post(
            f"/v1/key-results/{added['id']}/check-ins",
            json={"value": 70, "confidence": 0.6},
            headers=tom,
        ),
        201,
    )
    cycle = ok(client.get(f"/v1/cycles/{team['cycle']}", headers=priya))
    assert len(cycle["objective_ids"]) == 3
    # Retiring the objective after it got a key result: approved, applied, recorded.
    ok(client.post(f"/v1/change-requests/{retire['id']}/approve", headers=priya))
    assert ok(client.get(f"/v1/objectives/{team['team']}", headers=priya))["status"] == "retired"
    view = ok(client.get("/v1/compliance/changes-after-lock", headers=auth(*MARCUS)))["items"]
    assert [(i["kind"], i["requested_by"], i["approved_by"]) for i in view] == [
        ("add_key_result", "tom", "priya"),
        ("add_objective", "tom", "priya"),
        ("retire", "tom", "priya"),
    ]
    assert view[0]["key_result_id"] == added["id"]
    assert view[2]["changes"]["status"] == {"before": "active", "after": "retired"}
    # The quarter-end snapshot carries every one of them, and re-derives to its seal.
    ok(
        client.post(
            f"/v1/cycles/{team['cycle']}/close",
            json={"reason": "closed early in a test"},
            headers=priya,
        )
    )
    ok(client.post(f"/v1/cycles/{team['cycle']}/seal", headers=priya))
    snapshot = ok(client.get(f"/v1/cycles/{team['cycle']}/snapshot", headers=priya))["snapshot"]
    kinds = [c["kind"] for c in snapshot["changes_after_lock"]]
    assert kinds == ["add_key_result", "add_objective", "retire"]
    assert ok(client.get(f"/v1/cycles/{team['cycle']}/snapshot/verify", headers=priya))["matches"]


@pytest.mark.parametrize(
    ("who", "status", "rule"),
    [
        (TOM, 403, "four_eyes"),  # the requester (a member: not allowed to approve either)
        (("tom", "executive", "member"), 409, "four_eyes"),  # the requester, an executive too
        (("sofia", "member"), 403, "approver_role"),
        (ANA, 403, "approver_role"),
        (("sam", "admin"), 403, "approver_role"),
    ],
)
def test_only_a_second_person_allowed_to_approve_decides(
    client: TestClient,
    platform: Platform,
    auth: AuthHeaders,
    team: dict[str, str],
    who: tuple[str, str],
    status: int,
    rule: str,
) -> None:
    asked = request(
        client,
        auth(*TOM),
        key_result_id=team["key_result"],
        changes={"target": 10},
        reason="slipped",
    )
    headers = auth(*who)  # issued before the attempt is measured
    for verb in ("approve", "reject"):
        path = f"/v1/change-requests/{asked['id']}/{verb}"
        error = denied(client, platform, "POST", path, headers, status=status, json={})
        assert rule in [d["rule"] for d in error["details"]]
    still = ok(client.get(f"/v1/change-requests/{asked['id']}", headers=auth(*PRIYA)))
    assert still["status"] == "pending"
    kr = ok(client.get(f"/v1/key-results/{team['key_result']}", headers=auth(*PRIYA)))
    assert kr["target"] == 8


def test_who_may_approve_is_governed_like_every_rule(
    client: TestClient, platform: Platform, auth: AuthHeaders, team: dict[str, str]
) -> None:
    ana, omar = auth(*ANA), auth(*OMAR)
    active = ok(client.get("/v1/policies/active", headers=ana))
    data = {**active["data"], "change_approval": {"approver_roles": ["risk_officer"]}}
    proposal = ok(
        client.post(
            "/v1/policies",
            json={
                "modules": active["modules"],
                "data": data,
                "description": "risk decides post-lock changes",
            },
            headers=ana,
        ),
        201,
    )
    ok(client.post(f"/v1/policies/{proposal['id']}/approve", headers=omar))
    asked = request(
        client, auth(*TOM), key_result_id=team["key_result"], changes={"target": 10}, reason="x"
    )
    path = f"/v1/change-requests/{asked['id']}/approve"
    refused = denied(client, platform, "POST", path, auth(*PRIYA), status=403, json={})
    assert "risk_officer" in refused["message"]
    approved = ok(client.post(path, headers=ana))
    assert (approved["status"], approved["decided_by"]) == ("applied", "ana")
    decisions = ok(
        client.get(
            "/v1/decisions",
            params={"action": "change_request.approve", "outcome": "allowed"},
            headers={**auth(*MARCUS), "X-Okrgov-Min-Position": str(position(platform))},
        )
    )["items"]
    assert [(d["actor"], d["roles"], d["policy_version"]) for d in decisions] == [
        ("ana", ["risk_officer"], 2)
    ]


KR, OBJ, CYC = "key_result_id", "objective_id", "cycle_id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "no target"}, "body"),
        ({KR: "K", OBJ: "O", "changes": {"target": 1}, "reason": "r"}, "body"),
        ({KR: "K", "reason": "nothing asked"}, "changes"),
        ({KR: "K", "changes": {"target": 1}, "retire": True, "reason": "r"}, "changes"),
        ({OBJ: "O", "changes": {"unit": "days"}, "reason": "r"}, "changes.unit"),
        ({OBJ: "O", "changes": {"level": "galaxy"}, "reason": "r"}, "changes.level"),
        ({OBJ: "O", "new_key_result": {"title": "t"}, "reason": "r"}, "new_key_result.owner"),
        ({CYC: "C", "new_objective": {"title": "t", "owner": "tom"}, "reason": "r"},
         "new_objective.level"),
    ],
)  # fmt: skip
def test_a_malformed_request_names_the_field_and_records_nothing(
    client: TestClient,
    platform: Platform,
    auth: AuthHeaders,
    team: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    ids = {"K": team["key_result"], "O": team["team"], "C": team["cycle"]}
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    status, error = refused(client, platform, "POST", "/v1/change-requests", auth(*TOM), json=body)
    assert (status, error["code"]) == (422, "validation_error")
    assert field in [d["field"] for d in error["details"]], error


def test_a_request_that_changes_nothing_or_asks_before_lock_is_refused(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    objective = tom_objective(client, auth(*TOM), world["cycle"])
    body = {"objective_id": objective["id"], "retire": True, "reason": "r"}
    answer = client.post("/v1/change-requests", json=body, headers=auth(*TOM))
    assert answer.status_code == 409 and "not locked" in answer.json()["error"]["message"]
    ok(client.post(f"/v1/cycles/{world['cycle']}/lock", headers=auth(*PRIYA)))
    same = {"objective_id": objective["id"], "changes": {"owner": "TOM"}, "reason": "r"}
    answer = client.post("/v1/change-requests", json=same, headers=auth(*TOM))
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "changes"
