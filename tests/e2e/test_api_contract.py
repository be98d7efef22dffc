"""The public contract through HTTP: one quarter as the journeys tell it, what every role
may and may not do, authentication, read-your-writes and correlation ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from e2e_support import ANA, LENA, MARCUS, PRIYA, SAM, TOM, ok, recorded_since
from fastapi.testclient import TestClient

from services.bootstrap import Platform

AuthHeaders = Callable[..., dict[str, str]]


def test_one_quarter(client: TestClient, auth: AuthHeaders) -> None:
    priya, tom, lena = auth(*PRIYA), auth(*TOM), auth(*LENA)
    cycle = ok(
        client.post(
            "/v1/cycles",
            json={"name": "2026-Q4", "starts_on": "2026-10-01", "ends_on": "2026-12-31"},
            headers=priya,
        ),
        201,
    )
    assert cycle["state"] == "planning"
    firm = ok(
        client.post(
            "/v1/objectives",
            json={
                "cycle_id": cycle["id"],
                "title": "Strengthen our operational infrastructure ahead of the next fundraise",
                "owner": "priya",
                "level": "company",
                "commitment": "committed",
            },
            headers=priya,
        ),
        201,
    )
    krs = {}
    for title, owner, baseline, target, direction in [
        ("SOC 2 Type II certified", "priya", 0, 1, "milestone"),
        ("LP reporting turnaround", "tom", 15, 8, "decrease"),
        ("Head of Compliance hired", "priya", 0, 1, "milestone"),
    ]:
        kr = ok(
            client.post(
                f"/v1/objectives/{firm['id']}/key-results",
                json={
                    "title": title,
                    "owner": owner,
                    "unit": "days" if direction == "decrease" else "done",
                    "baseline": baseline,
                    "target": target,
                    "direction": direction,
                    "pay_linked": False,
                },
                headers=priya,
            ),
            201,
        )
        krs[title] = kr["id"]
    team = ok(
        client.post(
            "/v1/objectives",
            json={
                "cycle_id": cycle["id"],
                "title": "Faster LP reporting",
                "owner": "lena",
                "level": "team",
                "commitment": "aspirational",
                "parent_id": firm["id"],
            },
            headers=lena,
        ),
        201,
    )
    assert team["parent_id"] == firm["id"]

    ok(client.post(f"/v1/cycles/{cycle['id']}/lock", headers=priya))
    lp = krs["LP reporting turnaround"]
    checked = ok(
        client.post(
            f"/v1/key-results/{lp}/check-ins",
            json={"value": 13, "confidence": 0.6, "note": "fund admin data late again"},
            headers=tom,
        ),
        201,
    )
    assert checked["latest_check_in"]["value"] == 13
    assert checked["latest_check_in"]["by"] == "tom"

    refused = client.patch(
        f"/v1/key-results/{lp}", json={"target": 10, "reason": "migration"}, headers=tom
    )
    assert refused.status_code == 409
    assert "/v1/change-requests" in refused.json()["error"]["message"]
    request = ok(
        client.post(
            "/v1/change-requests",
            json={
                "key_result_id": lp,
                "changes": {"target": 10},
                "reason": "fund administrator migration slipped",
            },
            headers=tom,
        ),
        201,
    )
    assert request["status"] == "pending"
    approved = ok(client.post(f"/v1/change-requests/{request['id']}/approve", headers=priya))
    assert approved["status"] == "applied"
    assert approved["decided_by"] == "priya"
    assert ok(client.get(f"/v1/key-results/{lp}", headers=tom))["target"] == 10

    tree = ok(client.get(f"/v1/cycles/{cycle['id']}", headers=priya))
    assert [o["id"] for o in tree["objectives"]] == [firm["id"]]
    top = tree["objectives"][0]
    assert [c["id"] for c in top["children"]] == [team["id"]]
    assert {kr["title"] for kr in top["key_results"]} == set(krs)
    assert ok(client.get("/v1/objectives", params={"cycle_id": cycle["id"]}, headers=priya))[
        "items"
    ][0]["key_results"]

    closed = ok(
        client.post(
            f"/v1/cycles/{cycle['id']}/close",
            json={"reason": "closed early in a test"},
            headers=priya,
        )
    )
    assert closed["state"] == "closed"
    scored = ok(client.get(f"/v1/key-results/{lp}", headers=priya))
    assert scored["score"]["value"] == pytest.approx(0.4)  # 15 -> 13 of 15 -> 10
    assert ok(client.get(f"/v1/objectives/{firm['id']}", headers=priya))["score"] is not None
    after_close = client.post(
        f"/v1/key-results/{lp}/check-ins", json={"value": 9, "confidence": 1}, headers=tom
    )
    assert after_close.status_code == 409
    assert after_close.json()["error"]["code"] == "cycle_closed"


def test_member_writes_only_what_it_owns(
    client: TestClient, auth: AuthHeaders, world: dict[str, str]
) -> None:
    tom, lena = auth(*TOM), auth(*LENA)
    own = ok(
        client.post(
            "/v1/objectives",
            json={
                "cycle_id": world["cycle"],
                "title": "Reliable LP reports",
                "owner": "tom",
                "level": "individual",
                "commitment": "committed",
            },
            headers=tom,
        ),
        201,
    )
    ok(client.patch(f"/v1/objectives/{own['id']}", json={"title": "Fast LP reports"}, headers=tom))
    new_kr = {
        "title": "Reports sent by day 10",
        "owner": "tom",
        "unit": "%",
        "baseline": 40,
        "target": 90,
        "direction": "increase",
        "pay_linked": False,
    }
    ok(client.post(f"/v1/objectives/{own['id']}/key-results", json=new_kr, headers=tom), 201)
    ok(
        client.post(
            f"/v1/key-results/{world['key_result']}/check-ins",
            json={"value": 14, "confidence": 0.5},
            headers=tom,
        ),
        201,
    )
    foreign = [
        ("POST", f"/v1/objectives/{world['objective']}/key-results", new_kr),
        ("PATCH", f"/v1/objectives/{world['objective']}", {"title": "mine now"}),
        ("POST", f"/v1/objectives/{own['id']}/retire", {"reason": "not lena's"}),
        ("POST", f"/v1/key-results/{world['key_result']}/check-ins", {"value": 1, "confidence": 1}),
        ("POST", "/v1/cycles", {"name": "Q1", "starts_on": "2027-01-01", "ends_on": "2027-03-31"}),
    ]
    for method, path, body in foreign:
        response = client.request(method, path, json=body, headers=lena)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"]["code"] == "forbidden"
    company = client.post(
        "/v1/objectives",
        json={
            "cycle_id": world["cycle"],
            "title": "Company-wide",
            "owner": "tom",
            "level": "company",
            "commitment": "committed",
        },
        headers=tom,
    )
    assert company.status_code == 403


def every_write(world: dict[str, str], change_request: str) -> list[tuple[str, str, Any]]:
    """One valid request for each write route of the API, aimed at existing aggregates."""
    kr, objective, cycle = world["key_result"], world["objective"], world["cycle"]
    return [
        ("POST", "/v1/cycles", {"name": "Q1", "starts_on": "2027-01-01", "ends_on": "2027-03-31"}),
        ("POST", f"/v1/cycles/{cycle}/lock", None),
        ("POST", f"/v1/cycles/{cycle}/close", None),
        (
            "POST",
            "/v1/objectives",
            {
                "cycle_id": cycle,
                "title": "x",
                "owner": "marcus",
                "level": "team",
                "commitment": "committed",
            },
        ),
        ("PATCH", f"/v1/objectives/{objective}", {"title": "x"}),
        ("POST", f"/v1/objectives/{objective}/reown", {"owner": "x", "reason": "x"}),
        ("POST", f"/v1/objectives/{objective}/realign", {"parent_id": None, "reason": "x"}),
        ("POST", f"/v1/objectives/{objective}/retire", {"reason": "x"}),
        (
            "POST",
            f"/v1/objectives/{objective}/key-results",
            {
                "title": "x",
                "owner": "x",
                "unit": "x",
                "baseline": 0,
                "target": 1,
                "direction": "increase",
                "pay_linked": False,
            },
        ),
        ("PATCH", f"/v1/key-results/{kr}", {"target": 9}),
        ("POST", f"/v1/key-results/{kr}/retire", {"reason": "x"}),
        ("POST", f"/v1/key-results/{kr}/check-ins", {"value": 1, "confidence": 0.5}),
        (
            "POST",
            "/v1/change-requests",
            {"key_result_id": kr, "changes": {"target": 9}, "reason": "x"},
        ),
        ("POST", f"/v1/change-requests/{change_request}/approve", {}),
        ("POST", f"/v1/change-requests/{change_request}/reject", {"reason": "x"}),
    ]


@pytest.fixture
def pending_change(client: TestClient, auth: AuthHeaders, locked_world: dict[str, str]) -> str:
    response = client.post(
        "/v1/change-requests",
        json={
            "key_result_id": locked_world["key_result"],
            "changes": {"target": 10},
            "reason": "r",
        },
        headers=auth(*TOM),
    )
    return str(ok(response, 201)["id"])


def every_read(world: dict[str, str], change_request: str) -> list[str]:
    return [
        "/v1/cycles",
        f"/v1/cycles/{world['cycle']}",
        "/v1/objectives",
        f"/v1/objectives?cycle_id={world['cycle']}",
        f"/v1/objectives/{world['objective']}",
        f"/v1/key-results/{world['key_result']}",
        "/v1/change-requests",
        f"/v1/change-requests?key_result_id={world['key_result']}",
        f"/v1/change-requests/{change_request}",
    ]


@pytest.mark.parametrize("who", [MARCUS, ANA, ("both", "compliance", "risk_officer")])
def test_compliance_and_risk_officers_read_everything_and_change_nothing(
    client: TestClient,
    auth: AuthHeaders,
    platform: Platform,
    locked_world: dict[str, str],
    pending_change: str,
    who: tuple[str, ...],
) -> None:
    headers = auth(*who)
    for path in every_read(locked_world, pending_change):
        ok(client.get(path, headers=headers))
    before = platform.ledger.recorder.max_notification_id() or 0
    for method, path, body in every_write(locked_world, pending_change):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "forbidden"
    # Nothing changed. A risk officer's attempt to decide a change request is refused by
    # the guardrails (approver_role), so it is on record as a denied decision; compliance
    # is refused before anything is asked.
    recorded = recorded_since(platform, before)
    assert all(e.outcome == "denied" for e in recorded), recorded
    assert all({v["rule"] for v in e.deny} == {"approver_role"} for e in recorded)
    assert len(recorded) == (0 if "compliance" in who else 2)


def test_admin_runs_cycles_but_writes_no_okrs(
    client: TestClient, auth: AuthHeaders, world: dict[str, str]
) -> None:
    sam = auth(*SAM)
    ok(
        client.post(
            "/v1/cycles",
            json={"name": "2027-Q1", "starts_on": "2027-01-01", "ends_on": "2027-03-31"},
            headers=sam,
        ),
        201,
    )
    patched = client.patch(f"/v1/objectives/{world['objective']}", json={"title": "x"}, headers=sam)
    assert patched.status_code == 403
    ok(client.post(f"/v1/cycles/{world['cycle']}/lock", headers=sam))
    assert ok(client.get(f"/v1/cycles/{world['cycle']}", headers=sam))["state"] == "locked"


def test_executive_decides_change_requests_on_any_objective(
    client: TestClient, auth: AuthHeaders, pending_change: str
) -> None:
    rejected = ok(
        client.post(
            f"/v1/change-requests/{pending_change}/reject",
            json={"reason": "keep the target"},
            headers=auth("cfo", "executive"),
        )
    )
    assert (rejected["status"], rejected["decision_reason"]) == ("rejected", "keep the target")
    again = client.post(f"/v1/change-requests/{pending_change}/approve", headers=auth(*PRIYA))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-token", "Basic dG9tOnRvbQ==", "Bearer", "bearer "],
)
def test_401_without_a_valid_token(
    client: TestClient, world: dict[str, str], authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    for method, path in [
        ("GET", "/v1/cycles"),
        ("GET", f"/v1/objectives/{world['objective']}"),
        ("POST", f"/v1/cycles/{world['cycle']}/lock"),
    ]:
        response = client.request(method, path, headers=headers)
        assert response.status_code == 401, response.text
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthenticated"


def test_401_for_tokens_signed_elsewhere_or_with_unknown_roles(
    client: TestClient, platform: Platform
) -> None:
    from datetime import UTC, datetime, timedelta
    from uuid import uuid4

    from infra.tokens import TokenSigner

    expires = datetime.now(UTC) + timedelta(days=1)
    forged = TokenSigner("another-secret-key-of-sufficient-length!").create(
        uuid4(), "eve", ["executive"], expires
    )
    unknown_role = TokenSigner("test-secret-of-enough-length-for-hs256").create(
        uuid4(), "eve", ["superuser"], expires
    )
    for token in (forged, unknown_role):
        response = client.get("/v1/cycles", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


def test_a_token_without_roles_reads_nothing(client: TestClient, auth: AuthHeaders) -> None:
    assert client.get("/v1/cycles", headers=auth("nobody")).status_code == 403


def test_read_your_writes(
    client: TestClient, auth: AuthHeaders, platform: Platform, world: dict[str, str]
) -> None:
    tom, marcus = auth(*TOM), auth(*MARCUS)
    kr = world["key_result"]
    for week in range(1, 13):
        written = client.post(
            f"/v1/key-results/{kr}/check-ins",
            json={"value": 15 - week / 2, "confidence": 0.5},
            headers=tom,
        )
        position = int(written.headers["X-Okrgov-Position"])
        assert written.json()["check_in_count"] == week
        assert ok(client.get(f"/v1/key-results/{kr}", headers=tom))["check_in_count"] == week
        # Another user sees it too when carrying the position it was told.
        seen = client.get(
            f"/v1/key-results/{kr}", headers={**marcus, "X-Okrgov-Min-Position": str(position)}
        )
        assert ok(seen)["check_in_count"] == week
    assert platform.okr_state.position() >= position
    future = client.get("/v1/cycles", headers={**marcus, "X-Okrgov-Min-Position": "999999"})
    assert future.status_code == 422
    assert future.json()["error"]["details"][0]["field"] == "X-Okrgov-Min-Position"


def test_correlation_id_is_echoed_and_recorded(
    client: TestClient, auth: AuthHeaders, platform: Platform, world: dict[str, str]
) -> None:
    response = client.post(
        f"/v1/key-results/{world['key_result']}/check-ins",
        json={"value": 13, "confidence": 0.6},
        headers={**auth(*TOM), "X-Correlation-Id": "req-2026-10-05.1"},
    )
    assert response.headers["X-Correlation-Id"] == "req-2026-10-05.1"
    position = int(response.headers["X-Okrgov-Position"])
    [notification] = platform.ledger.recorder.select_notifications(start=position, limit=1)
    event = platform.ledger.mapper.to_domain_event(notification)
    assert getattr(event, "correlation_id", None) == "req-2026-10-05.1"

    generated = client.get("/healthz", headers={"X-Correlation-Id": "bad id\nwith newline"})
    assert len(generated.headers["X-Correlation-Id"]) == 32
    assert client.get("/nowhere").headers["X-Correlation-Id"]


def test_health_and_docs(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    # The views follow each write at once; the leaf log, which no answer reads, on its
    # poll: caught up here, every view shows no lag.
    platform.catch_up()
    health = ok(client.get("/healthz"))
    assert health["status"] == "ok"
    assert health["position"] == health["recorded"] > 0
    assert set(health["projections"]) == set(platform.followers)
    for view in health["projections"].values():
        assert view == {"position": health["recorded"], "lag": 0, "lag_seconds": 0}
    # A view that stops following shows the events it has not applied as lag, in events
    # and in the age of the first of them; past OKRGOV_LAG_WARN_SECONDS, health degrades.
    platform.followers["okr_state"].stop()
    platform.followers["okr_state"].view.reset()
    lagging = ok(client.get("/healthz"))["projections"]["okr_state"]
    assert lagging["position"] == 0 and lagging["lag"] == health["recorded"]
    assert lagging["lag_seconds"] > 0
    platform.settings.lag_warn_seconds = lagging["lag_seconds"] / 2
    assert ok(client.get("/healthz"))["status"] == "degraded"
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "okrgov"


def test_a_view_that_lags_answers_503_with_retry_after(
    client: TestClient, auth: AuthHeaders, platform: Platform, world: dict[str, str]
) -> None:
    platform.settings.read_wait_seconds = 0.05
    for follower in platform.followers.values():
        follower.stop()
    lagging = client.post(f"/v1/cycles/{world['cycle']}/lock", headers=auth(*PRIYA))
    assert lagging.status_code == 503
    assert lagging.headers["Retry-After"] == "1"
    assert lagging.json()["error"]["code"] == "projection_behind"
    assert "recorded at position" in lagging.json()["error"]["message"]
    # The same user's next read waits for that write rather than showing the old state.
    assert client.get(f"/v1/cycles/{world['cycle']}", headers=auth(*PRIYA)).status_code == 503
    platform.catch_up()
    assert ok(client.get(f"/v1/cycles/{world['cycle']}", headers=auth(*PRIYA)))["state"] == "locked"


def test_an_unexpected_failure_keeps_the_error_shape(
    client: TestClient,
    auth: AuthHeaders,
    platform: Platform,
    world: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(platform.ledger, "lock_cycle", broken)
    response = client.post(
        f"/v1/cycles/{world['cycle']}/lock",
        headers={**auth(*PRIYA), "X-Correlation-Id": "incident-7"},
    )
    assert response.status_code == 500
    assert response.headers["X-Correlation-Id"] == "incident-7"
    assert response.json()["error"]["code"] == "internal_error"
    assert "disk on fire" not in response.text
