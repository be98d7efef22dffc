"""What the end-to-end tests share: the people of JOURNEYS.md with their roles, and
helpers that read answers, the store and the decision record."""

from typing import Any

from fastapi.testclient import TestClient

from services.bootstrap import Platform

PRIYA = ("priya", "executive")
TOM = ("tom", "member")
LENA = ("lena", "member")
MARCUS = ("marcus", "compliance")
ANA = ("ana", "risk_officer")
OMAR = ("omar", "risk_officer")
SAM = ("sam", "admin")
UNKNOWN = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
DECISION_TOPIC = "events.decision:Decision.Recorded"
#: A key result Tom would add: well formed, passing every guardrail.
NEW_KR = {
    "title": "Complaints closed in 5 days",
    "owner": "tom",
    "unit": "%",
    "baseline": 60,
    "target": 90,
    "direction": "increase",
    "pay_linked": False,
}


def tom_objective(
    client: TestClient, headers: dict[str, str], cycle: str, parent: str | None = None
) -> dict[str, Any]:
    """Tom's own team objective in a cycle (created by whoever ``headers`` are)."""
    body = {
        "cycle_id": cycle,
        "title": "Give our LPs faster, cleaner reporting",
        "owner": "tom",
        "level": "team",
        "commitment": "committed",
    }
    if parent:
        body["parent_id"] = parent
    return ok(client.post("/v1/objectives", json=body, headers=headers), 201)


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def rules(items: list[dict[str, Any]]) -> list[str]:
    return [item["rule"] for item in items]


def position(platform: Platform) -> int:
    return platform.ledger.recorder.max_notification_id() or 0


def recorded_since(platform: Platform, before: int) -> list[Any]:
    """The domain events recorded after position ``before``."""
    notifications = platform.ledger.recorder.select_notifications(start=before + 1, limit=50)
    return [platform.ledger.mapper.to_domain_event(n) for n in notifications]


def denied(
    client: TestClient,
    platform: Platform,
    method: str,
    path: str,
    headers: dict[str, str],
    status: int = 422,
    **request: Any,
) -> dict[str, Any]:
    """A request the guardrails must deny: the answer lists every violated rule with a
    message, and the denied attempt is the only thing recorded, naming the same rules."""
    before = position(platform)
    response = client.request(method, path, headers=headers, **request)
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    for detail in error["details"]:
        assert detail["message"].strip(), detail
    notifications = platform.ledger.recorder.select_notifications(start=before + 1, limit=10)
    assert [n.topic for n in notifications] == [DECISION_TOPIC]
    decision: Any = platform.ledger.mapper.to_domain_event(notifications[0])
    assert decision.outcome == "denied"
    assert {v["rule"] for v in decision.deny} == set(rules(error["details"]))
    return error


def decisions(
    client: TestClient, platform: Platform, headers: dict[str, str], **query: Any
) -> list[dict[str, Any]]:
    """GET /v1/decisions as of everything recorded so far: the reader (often not the one
    who acted) names the store's position, as an auditor's tool would."""
    at = {"X-Okrgov-Min-Position": str(position(platform))}
    answer = client.get("/v1/decisions", params=query, headers={**headers, **at})
    items: list[dict[str, Any]] = ok(answer)["items"]
    return items


def refused(
    client: TestClient,
    platform: Platform,
    method: str,
    path: str,
    headers: dict[str, str],
    **request: Any,
) -> tuple[int, dict[str, Any]]:
    """Send a request that must fail; check it recorded nothing; return status and error."""
    before = platform.ledger.recorder.max_notification_id()
    response = client.request(method, path, headers=headers, **request)
    assert 400 <= response.status_code < 500, response.text
    assert platform.ledger.recorder.max_notification_id() == before, "something was recorded"
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    return response.status_code, error
