"""``GET /v1/change-requests?status=``: the requests waiting for a decision (pending), the
approved (applied in the same save) and the rejected, alone or with a target filter; every
role reads them all, as it reads the unfiltered list; a status the API does not know is a
422 naming ``status``, and the OpenAPI document lists the statuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from e2e_support import ANA, MARCUS, PRIYA, TOM, ok
from fastapi.testclient import TestClient

AuthHeaders = Callable[..., dict[str, str]]


def ask(client: TestClient, headers: dict[str, str], key_result: str, target: float) -> str:
    body = {"key_result_id": key_result, "changes": {"target": target}, "reason": "slipped"}
    return str(ok(client.post("/v1/change-requests", json=body, headers=headers), 201)["id"])


def ids(client: TestClient, headers: dict[str, str], **query: str) -> list[str]:
    found = ok(client.get("/v1/change-requests", params=query, headers=headers))
    return [item["id"] for item in found["items"]]


@pytest.fixture
def requests(client: TestClient, auth: AuthHeaders, locked_world: dict[str, str]) -> dict[str, str]:
    """Three requests about the world's key result: one approved, one rejected, one
    pending; and one pending about a second key result (Tom's own)."""
    exec_, kr = auth(*PRIYA), locked_world["key_result"]
    approved, rejected, pending = (ask(client, exec_, kr, t) for t in (9, 7, 6))
    decide = {"reason": "agreed"}
    ok(
        client.post(
            f"/v1/change-requests/{approved}/approve",
            json=decide,
            headers=auth("helen", "executive"),
        )
    )
    ok(
        client.post(
            f"/v1/change-requests/{rejected}/reject",
            json=decide,
            headers=auth("helen", "executive"),
        )
    )
    return {**locked_world, "approved": approved, "rejected": rejected, "pending": pending}


@pytest.mark.parametrize("who", [PRIYA, TOM, MARCUS, ANA], ids=lambda w: w[1])
def test_each_status_alone_lists_its_requests_for_every_role(
    client: TestClient, auth: AuthHeaders, requests: dict[str, str], who: tuple[str, str]
) -> None:
    headers = auth(*who)
    assert ids(client, headers, status="pending") == [requests["pending"]]
    assert ids(client, headers, status="approved") == [requests["approved"]]
    assert ids(client, headers, status="rejected") == [requests["rejected"]]
    everything = ids(client, headers)
    assert everything == [requests["approved"], requests["rejected"], requests["pending"]]


def test_an_approved_request_reads_applied_and_is_listed_as_approved(
    client: TestClient, auth: AuthHeaders, requests: dict[str, str]
) -> None:
    found = ok(client.get("/v1/change-requests?status=approved", headers=auth(*TOM)))["items"]
    assert [(r["status"], r["decided_by"], r["decision_reason"]) for r in found] == [
        ("applied", "helen", "agreed")
    ]
    rejected = ok(client.get("/v1/change-requests?status=rejected", headers=auth(*TOM)))["items"]
    assert [(r["status"], r["decided_by"]) for r in rejected] == [("rejected", "helen")]


def test_status_and_target_must_both_hold(
    client: TestClient, auth: AuthHeaders, requests: dict[str, str]
) -> None:
    exec_, objective = auth(*PRIYA), requests["objective"]
    retitle = {
        "objective_id": objective,
        "changes": {"title": "Stronger operations"},
        "reason": "x",
    }
    other = ok(client.post("/v1/change-requests", json=retitle, headers=exec_), 201)["id"]
    kr = requests["key_result"]
    assert ids(client, exec_, status="pending") == [requests["pending"], other]
    assert ids(client, exec_, status="pending", key_result_id=kr) == [requests["pending"]]
    assert ids(client, exec_, status="approved", key_result_id=kr) == [requests["approved"]]
    assert ids(client, exec_, status="pending", objective_id=objective) == [other]
    assert ids(client, exec_, status="rejected", objective_id=objective) == []


@pytest.mark.parametrize("status", ["applied", "PENDING", "open", ""])
def test_a_status_the_api_does_not_know_is_422_naming_status(
    client: TestClient, auth: AuthHeaders, requests: dict[str, str], status: str
) -> None:
    answer = client.get("/v1/change-requests", params={"status": status}, headers=auth(*TOM))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == ["status"]


def test_the_openapi_document_lists_the_statuses(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    params = spec["paths"]["/v1/change-requests"]["get"]["parameters"]
    status: dict[str, Any] = next(p for p in params if p["name"] == "status")
    assert status["in"] == "query" and not status.get("required", False)
    text = str(status["schema"])
    for value in ("pending", "approved", "rejected"):
        assert value in text
    assert "applied" in status.get("description", "") + str(status["schema"])
