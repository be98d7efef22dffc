"""Bad input gets a clear 4xx naming the field, in the public error shape, and nothing is
recorded: wrong types, missing and extra fields, unknown and malformed ids, broken rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from e2e_support import NEW_KR, PRIYA, TOM, UNKNOWN, denied, refused
from fastapi.testclient import TestClient

from services.bootstrap import Platform

AuthHeaders = Callable[..., dict[str, str]]


def fields(error: dict[str, Any]) -> set[str]:
    return {d["field"] for d in error["details"]}


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"value": 13, "confidence": 1.7}, "confidence", "less_than_equal"),
        ({"value": 13, "confidence": -0.1}, "confidence", "greater_than_equal"),
        ({"value": "twelve", "confidence": 0.5}, "value", "float_type"),
        ({"value": "12", "confidence": 0.5}, "value", "float_type"),
        ({"value": True, "confidence": 0.5}, "value", "float_type"),
        ({"value": 12, "confidence": "high"}, "confidence", "float_type"),
        ({"value": 12}, "confidence", "missing"),
        ({"value": 12, "confidence": 0.5, "mood": "ok"}, "mood", "extra_forbidden"),
        ({"value": 12, "confidence": 0.5, "note": 7}, "note", "string_type"),
        ({"value": 1e16, "confidence": 0.5}, "value", "less_than_equal"),
    ],
)
def test_check_in_values(
    client: TestClient,
    platform: Platform,
    auth: AuthHeaders,
    world: dict[str, str],
    body: dict[str, Any],
    field: str,
    rule: str,
) -> None:
    path = f"/v1/key-results/{world['key_result']}/check-ins"
    status, error = refused(client, platform, "POST", path, auth(*TOM), json=body)
    assert status == 422
    assert error["code"] == "validation_error"
    assert {"field": field, "rule": rule} in [
        {"field": d["field"], "rule": d["rule"]} for d in error["details"]
    ]
    assert field in error["message"]
    after = client.get(f"/v1/key-results/{world['key_result']}", headers=auth(*TOM)).json()
    assert after["check_in_count"] == 0


@pytest.mark.parametrize(
    "raw", ['{"value": NaN, "confidence": 0.5}', '{"value": 1e999, "confidence": 0.5}']
)
def test_non_finite_numbers(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str], raw: str
) -> None:
    path = f"/v1/key-results/{world['key_result']}/check-ins"
    headers = {**auth(*TOM), "Content-Type": "application/json"}
    status, error = refused(client, platform, "POST", path, headers, content=raw)
    assert (status, fields(error)) == (422, {"value"})


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("{name:", "body"),
        ('{"name": "\\ud800", "starts_on": "2027-01-01", "ends_on": "2027-03-31"}', "name"),
    ],
)
def test_raw_bodies(
    client: TestClient, platform: Platform, auth: AuthHeaders, raw: str, field: str
) -> None:
    """Not JSON at all; a lone surrogate (JSON allows the escape, UTF-8 cannot carry it)."""
    headers = {**auth(*PRIYA), "Content-Type": "application/json"}
    status, error = refused(client, platform, "POST", "/v1/cycles", headers, content=raw)
    assert (status, fields(error)) == (422, {field})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "Q1", "starts_on": "tomorrow", "ends_on": "2027-03-31"}, {"starts_on"}),
        ({"name": 5, "starts_on": "2027-01-01", "ends_on": "2027-03-31"}, {"name"}),
        ({"starts_on": "2027-01-01"}, {"name", "ends_on"}),
        ({"name": "", "starts_on": "2027-01-01", "ends_on": "2027-03-31"}, {"name"}),
        ({"name": "  ", "starts_on": "2027-01-01", "ends_on": "2027-03-31"}, {"name"}),
        ({"name": "Q1", "starts_on": "2027-03-31", "ends_on": "2027-01-01"}, {"ends_on"}),
        (
            {"name": "Q1", "starts_on": "2027-01-01", "ends_on": "2027-03-31", "colour": "red"},
            {"colour"},
        ),
        ([1, 2], {"body"}),
    ],
)
def test_cycle_bodies(
    client: TestClient,
    platform: Platform,
    auth: AuthHeaders,
    body: Any,
    expected: set[str],
) -> None:
    status, error = refused(client, platform, "POST", "/v1/cycles", auth(*PRIYA), json=body)
    assert (status, fields(error)) == (422, expected)


@pytest.mark.parametrize(
    ("change", "expected", "rule"),
    [
        ({"risk_rating": 7}, {"risk_rating"}, "less_than_equal"),
        ({"risk_rating": True}, {"risk_rating"}, "int_type"),
        ({"direction": "sideways"}, {"direction"}, "enum"),
        ({"target": None}, {"target"}, "value_error"),
        ({"target": 20}, {"target"}, "not_measurable"),
        ({"pay_linked": "no"}, {"pay_linked"}, "bool_type"),
        ({"objective_id": UNKNOWN}, {"objective_id"}, "extra_forbidden"),
        ({}, {"changes"}, "invalid_value"),
    ],
)
def test_key_result_revisions(
    client: TestClient,
    platform: Platform,
    auth: AuthHeaders,
    world: dict[str, str],
    change: dict[str, Any],
    expected: set[str],
    rule: str,
) -> None:
    path = f"/v1/key-results/{world['key_result']}"
    status, error = refused(client, platform, "PATCH", path, auth(*TOM), json=change)
    assert (status, fields(error)) == (422, expected)
    assert rule in {d["rule"] for d in error["details"]}


def test_target_equal_to_baseline_is_a_recorded_guardrail_denial(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    path = f"/v1/key-results/{world['key_result']}"
    error = denied(client, platform, "PATCH", path, auth(*TOM), json={"target": 15})
    assert [d["rule"] for d in error["details"]] == ["measurable"]


def test_new_key_result_rules(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    path = f"/v1/objectives/{world['objective']}/key-results"
    missing = {k: v for k, v in NEW_KR.items() if k != "pay_linked"}
    status, error = refused(client, platform, "POST", path, auth(*PRIYA), json=missing)
    assert (status, fields(error)) == (422, {"pay_linked"})
    flat = {**NEW_KR, "target": 60}
    error = denied(client, platform, "POST", path, auth(*PRIYA), json=flat)
    assert error["code"] == "guardrail_denied"
    assert [d["rule"] for d in error["details"]] == ["measurable"]
    assert "target" in error["details"][0]["message"]


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/cycles/{UNKNOWN}",
        f"/v1/objectives/{UNKNOWN}",
        f"/v1/objectives?cycle_id={UNKNOWN}",
        f"/v1/key-results/{UNKNOWN}",
        f"/v1/change-requests/{UNKNOWN}",
        f"/v1/change-requests?key_result_id={UNKNOWN}",
    ],
)
def test_unknown_ids_read_404(client: TestClient, auth: AuthHeaders, path: str) -> None:
    response = client.get(path, headers=auth(*PRIYA))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/v1/cycles/{UNKNOWN}/lock", None),
        (f"/v1/key-results/{UNKNOWN}/check-ins", {"value": 1, "confidence": 0.5}),
        (f"/v1/objectives/{UNKNOWN}/key-results", NEW_KR),
        (f"/v1/change-requests/{UNKNOWN}/approve", None),
        (
            "/v1/objectives",
            {
                "cycle_id": UNKNOWN,
                "title": "t",
                "owner": "priya",
                "level": "team",
                "commitment": "committed",
            },
        ),
    ],
)
def test_unknown_ids_write_404(
    client: TestClient, platform: Platform, auth: AuthHeaders, path: str, body: Any
) -> None:
    status, error = refused(client, platform, "POST", path, auth(*PRIYA), json=body)
    assert (status, error["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/v1/cycles/not-a-uuid", "cycle_id"),
        ("POST", "/v1/cycles/123/lock", "cycle_id"),
        ("GET", "/v1/objectives?cycle_id=Q4", "cycle_id"),
        ("GET", "/v1/objectives/%20", "objective_id"),
        ("GET", "/v1/key-results/1b4e28ba-2fa1-41d2-883f", "key_result_id"),
        ("POST", "/v1/change-requests/xyz/approve", "change_request_id"),
    ],
)
def test_malformed_ids_name_the_parameter(
    client: TestClient, platform: Platform, auth: AuthHeaders, method: str, path: str, field: str
) -> None:
    status, error = refused(client, platform, method, path, auth(*PRIYA))
    assert (status, fields(error)) == (422, {field})


def test_min_position_header_must_be_a_position(client: TestClient, auth: AuthHeaders) -> None:
    for value in ("soon", "-3", str(2**63)):  # 0 is a position: none beyond one's own writes
        response = client.get(
            "/v1/cycles", headers={**auth(*PRIYA), "X-Okrgov-Min-Position": value}
        )
        assert response.status_code == 422
        assert fields(response.json()["error"]) == {"X-Okrgov-Min-Position"}


def test_foreign_owner(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    body = {
        "cycle_id": world["cycle"],
        "title": "Tom writes for Priya",
        "owner": "priya",
        "level": "team",
        "commitment": "committed",
    }
    status, error = refused(client, platform, "POST", "/v1/objectives", auth(*TOM), json=body)
    assert (status, error["code"]) == (403, "forbidden")


def test_alignment_must_stay_in_the_cycle_and_acyclic(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    path = f"/v1/objectives/{world['objective']}/realign"
    body = {"parent_id": world["objective"], "reason": "loop"}
    status, error = refused(client, platform, "POST", path, auth(*PRIYA), json=body)
    assert (status, fields(error)) == (422, {"parent_id"})
    status, error = refused(client, platform, "POST", path, auth(*PRIYA), json={"reason": "r"})
    assert (status, fields(error)) == (422, {"parent_id"})


def test_reason_required(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    path = f"/v1/objectives/{world['objective']}/retire"
    for body in ({}, {"reason": ""}):
        status, error = refused(client, platform, "POST", path, auth(*PRIYA), json=body)
        assert (status, fields(error)) == (422, {"reason"})
    status, error = refused(client, platform, "POST", path, auth(*PRIYA), json={"reason": "  "})
    assert (status, error["code"], fields(error)) == (422, "reason_required", {"reason"})


def test_post_lock_patch_names_the_change_request_route(
    client: TestClient, platform: Platform, auth: AuthHeaders, locked_world: dict[str, str]
) -> None:
    path = f"/v1/key-results/{locked_world['key_result']}"
    body = {"target": 10, "reason": "migration slipped"}
    error = denied(client, platform, "PATCH", path, auth(*TOM), status=409, json=body)
    assert error["code"] == "change_needs_approval"
    assert "/v1/change-requests" in error["message"]
    path = f"/v1/objectives/{locked_world['objective']}/key-results"
    error = denied(client, platform, "POST", path, auth(*PRIYA), status=409, json=NEW_KR)
    assert error["code"] == "change_needs_approval"
    assert "/v1/change-requests" in error["message"]


def test_change_request_rules(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    body = {"key_result_id": world["key_result"], "changes": {"target": 10}, "reason": "r"}
    status, error = refused(client, platform, "POST", "/v1/change-requests", auth(*TOM), json=body)
    assert (status, error["code"]) == (409, "invalid_transition")  # not locked: PATCH instead
    nested = {**body, "changes": {"colour": "red"}}
    status, error = refused(
        client, platform, "POST", "/v1/change-requests", auth(*TOM), json=nested
    )
    assert (status, fields(error)) == (422, {"changes.colour"})


def test_self_approval_is_refused(
    client: TestClient, platform: Platform, auth: AuthHeaders, locked_world: dict[str, str]
) -> None:
    priya = auth(*PRIYA)
    request = client.post(
        "/v1/change-requests",
        json={
            "key_result_id": locked_world["key_result"],
            "changes": {"target": 9},
            "reason": "tighter",
        },
        headers=priya,
    )
    assert request.status_code == 201, request.text
    path = f"/v1/change-requests/{request.json()['id']}/approve"
    error = denied(client, platform, "POST", path, priya, status=409)
    assert error["code"] == "four_eyes"
    assert client.get(path.removesuffix("/approve"), headers=priya).json()["status"] == "pending"


def test_unknown_route_and_method_keep_the_error_shape(
    client: TestClient, auth: AuthHeaders
) -> None:
    missing = client.get("/v1/nothing-here", headers=auth(*PRIYA))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    wrong = client.delete("/v1/cycles", headers=auth(*PRIYA))
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, "method_not_allowed")


def test_a_misspelt_filter_is_refused_not_ignored(client: TestClient, auth: AuthHeaders) -> None:
    response = client.get(f"/v1/objectives?cycleid={UNKNOWN}", headers=auth(*PRIYA))
    assert response.status_code == 422
    assert fields(response.json()["error"]) == {"cycleid"}
