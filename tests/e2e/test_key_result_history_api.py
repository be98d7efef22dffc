"""A key result's check-ins and whole history through HTTP: every check-in in order (not
only the latest), and the history of Tom's change request moving the LP reporting target
from 8 to 10 days, approved by Priya; a member reads the history but not another's
decision rules; an unknown key result is 404."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from e2e_support import MARCUS, PRIYA, TOM, UNKNOWN, ok, position
from fastapi.testclient import TestClient

from services.bootstrap import Platform

AuthHeaders = Callable[..., dict[str, str]]
REASON = "fund administrator migration slipped"


def fresh(platform: Platform, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "X-Okrgov-Min-Position": str(position(platform))}


@pytest.fixture
def moved(client: TestClient, auth: AuthHeaders, locked_world: dict[str, str]) -> dict[str, str]:
    """Two check-ins by Tom, then his change request (8 -> 10 days), approved by Priya."""
    tom, priya, kr = auth(*TOM), auth(*PRIYA), locked_world["key_result"]
    for value, confidence, note in ((14, 0.5, "first"), (13, 0.6, "fund admin data late again")):
        body = {"value": value, "confidence": confidence, "note": note}
        ok(client.post(f"/v1/key-results/{kr}/check-ins", json=body, headers=tom), 201)
    body = {"key_result_id": kr, "changes": {"target": 10}, "reason": REASON}
    request = ok(client.post("/v1/change-requests", json=body, headers=tom), 201)
    ok(client.post(f"/v1/change-requests/{request['id']}/approve", headers=priya))
    return {**locked_world, "change_request": request["id"]}


def test_every_check_in_in_order(
    client: TestClient, auth: AuthHeaders, platform: Platform, moved: dict[str, str]
) -> None:
    kr = moved["key_result"]
    items = ok(client.get(f"/v1/key-results/{kr}/check-ins", headers=fresh(platform, auth(*TOM))))
    got = [(i["value"], i["confidence"], i["note"], i["by"]) for i in items["items"]]
    assert got == [(14, 0.5, "first", "tom"), (13, 0.6, "fund admin data late again", "tom")]
    assert items["items"][0]["position"] < items["items"][1]["position"]
    assert all(i["effective_on"] and i["at"] for i in items["items"])
    # The key result itself still carries only the latest.
    latest = ok(client.get(f"/v1/key-results/{kr}", headers=auth(*TOM)))["latest_check_in"]
    assert latest["note"] == "fund admin data late again"


def test_the_history_shows_both_targets_who_asked_who_approved_and_why(
    client: TestClient, auth: AuthHeaders, platform: Platform, moved: dict[str, str]
) -> None:
    kr, request = moved["key_result"], moved["change_request"]
    answer = ok(client.get(f"/v1/key-results/{kr}/history", headers=fresh(platform, auth(*MARCUS))))
    assert answer["key_result"]["target"] == 10
    assert [r["id"] for r in answer["change_requests"]] == [request]
    items = answer["items"]
    assert [i["position"] for i in items] == sorted(i["position"] for i in items)
    assert [i["action"] for i in items] == [
        "KeyResult.Added",
        "KeyResult.CheckedIn",
        "KeyResult.CheckedIn",
        "ChangeRequest.Requested",
        "ChangeRequest.Approved",
        "KeyResult.Revised",
        "ChangeRequest.Applied",
    ]
    requested = items[3]
    assert (requested["actor"], requested["reason"], requested["subject_id"]) == (
        "tom", REASON, request,
    )  # fmt: skip
    approved, revised = items[4], items[5]
    assert approved["actor"] == "priya"
    assert revised["changes"] == {"target": {"before": 8.0, "after": 10.0}}
    assert revised["change_request_id"] == request
    assert revised["decision"]["id"] == approved["decision"]["id"]
    assert revised["decision"]["policy_version"] == 1
    assert revised["decision"]["action"] == "change_request.approve"
    assert items[1]["kind"] == "check_in" and items[1]["effective_on"]


def test_a_denied_attempt_is_an_item_of_its_own_read_by_oversight_and_its_actor(
    client: TestClient, auth: AuthHeaders, platform: Platform, moved: dict[str, str]
) -> None:
    kr = moved["key_result"]
    body = {"key_result_id": kr, "changes": {"pay_linked": True}, "reason": "bonus"}
    denied = client.post("/v1/change-requests", json=body, headers=auth(*TOM))
    assert denied.status_code in (403, 409, 422), denied.text
    for who, sees in ((MARCUS, True), (TOM, True), (("lena", "member"), False)):
        items = ok(
            client.get(f"/v1/key-results/{kr}/history", headers=fresh(platform, auth(*who)))
        )["items"]
        refused = [i for i in items if i["kind"] == "decision"]
        if not sees:
            assert refused == []
            assert all(i["decision"]["deny"] is None for i in items if i["actor"] == "tom")
            continue
        assert len(refused) == 1
        decision = refused[0]["decision"]
        assert decision["outcome"] == "denied" and refused[0]["actor"] == "tom"
        assert decision["deny"] and decision["policy_version"] == 1


def test_an_unknown_key_result_is_404(client: TestClient, auth: AuthHeaders) -> None:
    for route in ("check-ins", "history"):
        answer = client.get(f"/v1/key-results/{UNKNOWN}/{route}", headers=auth(*TOM))
        assert answer.status_code == 404, answer.text


def test_the_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for route, schema in (("check-ins", "CheckIns"), ("history", "KeyResultHistory")):
        ok_answer = paths[f"/v1/key-results/{{key_result_id}}/{route}"]["get"]["responses"]["200"]
        assert ok_answer["content"]["application/json"]["schema"]["$ref"].endswith(schema)
