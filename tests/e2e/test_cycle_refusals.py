"""Sensible refusals on cycles through the API: a name another cycle has answers 409
naming that cycle; closing before the end date without a reason answers 422 naming the
field and the rule, and a reason given is recorded and shown in the audit trail."""

from __future__ import annotations

from collections.abc import Callable

from e2e_support import PRIYA, ok, position
from fastapi.testclient import TestClient

from services.bootstrap import Platform

AuthHeaders = Callable[..., dict[str, str]]


def test_a_taken_name_answers_409_naming_the_cycle_that_has_it(
    client: TestClient, auth: AuthHeaders, platform: Platform, world: dict[str, str]
) -> None:
    priya = auth(*PRIYA)
    before = position(platform)
    answer = client.post(
        "/v1/cycles",
        json={"name": " 2026-q4 ", "starts_on": "2027-01-01", "ends_on": "2027-03-31"},
        headers=priya,
    )
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == "cycle_name_taken"
    assert world["cycle"] in error["message"]
    assert "2026-10-01 to 2026-12-31" in error["message"] and "NFKC" in error["message"]
    assert error["details"][0]["field"] == "name"
    assert position(platform) == before  # nothing recorded, not even a decision
    other = {"name": "2027-Q1", "starts_on": "2027-01-01", "ends_on": "2027-03-31"}
    ok(client.post("/v1/cycles", json=other, headers=priya), 201)


def test_closing_early_needs_a_reason_which_the_audit_trail_shows(
    client: TestClient, auth: AuthHeaders, platform: Platform, locked_world: dict[str, str]
) -> None:
    """The world's cycle ends on 2026-12-31, after today on these machines."""
    priya = auth(*PRIYA)
    cycle = locked_world["cycle"]
    before = position(platform)
    for body in (None, {}, {"reason": None}):
        answer = client.post(f"/v1/cycles/{cycle}/close", json=body, headers=priya)
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == "reason_required"
        assert error["details"][0]["field"] == "reason"
        assert (
            "closing before the cycle's end date (2026-12-31) needs a reason" in (error["message"])
        )
    assert position(platform) == before
    blank = client.post(f"/v1/cycles/{cycle}/close", json={"reason": ""}, headers=priya)
    assert blank.status_code == 422, blank.text
    reason = "the fund's year end moved to November"
    closed = ok(client.post(f"/v1/cycles/{cycle}/close", json={"reason": reason}, headers=priya))
    assert closed["state"] == "closed"
    trail = ok(client.get("/v1/audit", params={"aggregate_id": cycle}, headers=priya))
    [entry] = [e for e in trail["items"] if e["action"] == "Cycle.Closed"]
    assert entry["reason"] == reason
