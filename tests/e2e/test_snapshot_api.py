"""Priya's quarter end through HTTP: close, seal, verify, read the snapshot as of a position
or a moment, and take the exports to the board (canonical JSON, CSV, HTML)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from okr_builders import definition

AuthHeaders = Callable[..., dict[str, str]]
PRIYA = ("priya", "executive")
TOM = ("tom", "member")
MARCUS = ("marcus", "compliance")


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


@pytest.fixture
def closed_quarter(
    client: TestClient, auth: AuthHeaders, locked_world: dict[str, str]
) -> dict[str, Any]:
    """The locked world, with a second key result, weekly check-ins, Tom's change of target
    approved by Priya, then closed. Returns the ids and the positions of the weeks."""
    priya, tom = auth(*PRIYA), auth(*TOM)
    cycle, kr = locked_world["cycle"], locked_world["key_result"]
    weeks = []
    for week, (value, confidence) in enumerate([(14, 0.6), (13, 0.6), (11, 0.7)], start=1):
        checked = ok(
            client.post(
                f"/v1/key-results/{kr}/check-ins",
                json={"value": value, "confidence": confidence, "note": f"week {week}"},
                headers=tom,
            ),
            201,
        )
        weeks.append(int(checked.headers["X-Okrgov-Position"]))
    request = ok(
        client.post(
            "/v1/change-requests",
            json={"key_result_id": kr, "changes": {"target": 10}, "reason": "migration slipped"},
            headers=tom,
        ),
        201,
    ).json()
    ok(client.post(f"/v1/change-requests/{request['id']}/approve", headers=priya))
    closed = ok(
        client.post(
            f"/v1/cycles/{cycle}/close", json={"reason": "closed early in a test"}, headers=priya
        )
    ).json()
    assert closed["state"] == "closed"
    return {**locked_world, "weeks": weeks, "change_request": request["id"]}


@pytest.fixture
def planned_with_two_key_results(
    client: TestClient, auth: AuthHeaders, world: dict[str, str]
) -> dict[str, str]:
    second = ok(
        client.post(
            f"/v1/objectives/{world['objective']}/key-results",
            json=definition(title="Head of Compliance hired", owner="priya", unit="hired",
                            baseline=0, target=1, direction="milestone"),
            headers=auth(*PRIYA),
        ),
        201,
    ).json()  # fmt: skip
    return {**world, "second_key_result": second["id"]}


def test_priya_closes_seals_verifies_and_exports_the_quarter(
    client: TestClient, auth: AuthHeaders, closed_quarter: dict[str, Any]
) -> None:
    priya, marcus = auth(*PRIYA), auth(*MARCUS)
    cycle = closed_quarter["cycle"]
    before = ok(client.get(f"/v1/cycles/{cycle}/snapshot", headers=priya)).json()

    sealed = ok(client.post(f"/v1/cycles/{cycle}/seal", headers=priya))
    body = sealed.json()
    assert body["state"] == "sealed" and body["sealed_at"]
    assert body["seal"] == {"position": before["position"], "digest": before["digest"]}
    assert int(sealed.headers["X-Okrgov-Position"]) > before["position"]
    # The cycle's own read shows the seal too (read-your-writes).
    assert ok(client.get(f"/v1/cycles/{cycle}", headers=priya)).json()["seal"] == body["seal"]

    verified = ok(client.get(f"/v1/cycles/{cycle}/snapshot/verify", headers=marcus)).json()
    assert verified["matches"] is True
    assert verified["sealed_digest"] == verified["recomputed_digest"] == before["digest"]
    assert verified["position"] == verified["sealed_position"] == before["position"]

    as_sealed = ok(
        client.get(f"/v1/cycles/{cycle}/snapshot?as_of={before['position']}", headers=marcus)
    ).json()
    assert (as_sealed["digest"], as_sealed["snapshot"]) == (before["digest"], before["snapshot"])
    snapshot = as_sealed["snapshot"]
    assert snapshot["cycle"]["state"] == "closed"
    [objective] = snapshot["objectives"]
    [key_result] = objective["key_results"]
    assert (key_result["target"], key_result["last_check_in"]["value"]) == (10, 11)
    assert key_result["score"]["value"] == 0.8 and key_result["score"]["rule_version"] == 1
    [change] = snapshot["changes_after_lock"]
    assert (change["requested_by"], change["approved_by"]) == ("tom", "priya")
    assert (change["before"], change["after"]) == ({"target": 8}, {"target": 10})

    exported = _export(client, cycle, before["position"], "json", marcus)
    assert exported.headers["content-type"] == "application/json"
    assert hashlib.sha256(exported.content).hexdigest() == before["digest"]
    assert exported.headers["X-Okrgov-Snapshot-Digest"] == before["digest"]
    assert exported.headers["X-Okrgov-Snapshot-Position"] == str(before["position"])
    assert json.loads(exported.content) == before["snapshot"]
    # The canonical bytes: the key result's whole-number values as integers (RFC 8785).
    assert b'"baseline":15,' in exported.content and b'"target":10,' in exported.content


def test_the_exports_carry_every_key_result_and_the_digest(
    client: TestClient, auth: AuthHeaders, planned_with_two_key_results: dict[str, str]
) -> None:
    priya = auth(*PRIYA)
    cycle = planned_with_two_key_results["cycle"]
    ok(client.post(f"/v1/cycles/{cycle}/lock", headers=priya))
    ok(
        client.post(
            f"/v1/cycles/{cycle}/close", json={"reason": "closed early in a test"}, headers=priya
        )
    )
    digest = ok(client.post(f"/v1/cycles/{cycle}/seal", headers=priya)).json()["seal"]["digest"]
    position = ok(client.get(f"/v1/cycles/{cycle}/snapshot/verify", headers=priya)).json()[
        "position"
    ]

    exported = _export(client, cycle, position, "csv", priya)
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["X-Okrgov-Snapshot-Digest"] == digest
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8"))))
    assert sorted(r["key_result_id"] for r in rows) == sorted(
        [
            planned_with_two_key_results["key_result"],
            planned_with_two_key_results["second_key_result"],
        ]
    )
    lp = next(r for r in rows if r["key_result"] == "LP reporting turnaround")
    assert (lp["objective"], lp["owner"], lp["baseline"], lp["target"]) == (
        "Strengthen our operational infrastructure", "tom", "15", "8",
    )  # fmt: skip
    assert (lp["last_value"], lp["confidence"], lp["score"]) == ("", "", "0")  # never checked in

    report = _export(client, cycle, position, "html", priya)
    assert report.headers["content-type"].startswith("text/html")
    html = report.text
    assert digest in html and f"as_of={position}" in html
    assert "Strengthen our operational infrastructure" in html
    assert "LP reporting turnaround" in html and "Head of Compliance hired" in html
    assert re.search(r"<svg[^>]*>.*</svg>", html, re.S)
    # Self-contained and inert: no script, nothing fetched from elsewhere.
    assert "<script" not in html.lower() and not re.search(r'(src|href)="(https?:)?//', html)


def test_the_report_shows_changes_after_lock_and_escapes_what_people_wrote(
    client: TestClient, auth: AuthHeaders, closed_quarter: dict[str, Any]
) -> None:
    priya = auth(*PRIYA)
    html = _export(client, closed_quarter["cycle"], None, "html", priya).text
    changes = html[html.index("Changes after lock") :]
    assert "migration slipped" in changes and "tom" in changes and "priya" in changes
    assert "target: 8 → <b>10</b>" in changes

    cycle = ok(
        client.post(
            "/v1/cycles",
            json={"name": "<script>alert(1)</script>", "starts_on": "2027-01-01",
                  "ends_on": "2027-03-31"},
            headers=priya,
        ),
        201,
    ).json()  # fmt: skip
    html = _export(client, cycle["id"], None, "html", priya).text
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_as_of_a_moment_and_a_position(
    client: TestClient, auth: AuthHeaders, closed_quarter: dict[str, Any]
) -> None:
    marcus = auth(*MARCUS)
    cycle, first_week = closed_quarter["cycle"], closed_quarter["weeks"][0]
    at_first = ok(client.get(f"/v1/cycles/{cycle}/snapshot?as_of={first_week}", headers=marcus))
    snapshot = at_first.json()["snapshot"]
    [key_result] = snapshot["objectives"][0]["key_results"]
    assert key_result["last_check_in"]["note"] == "week 1" and key_result["target"] == 8
    assert snapshot["cycle"]["state"] == "locked" and snapshot["changes_after_lock"] == []

    moment = key_result["last_check_in"]["at"]
    by_time = ok(
        client.get(f"/v1/cycles/{cycle}/snapshot", params={"as_of": moment}, headers=marcus)
    ).json()
    # The check-in itself; the week's answer named the position of its decision, after it.
    assert by_time["position"] <= first_week
    assert by_time["digest"] == at_first.json()["digest"]

    now = ok(client.get(f"/v1/cycles/{cycle}/snapshot", headers=marcus)).json()
    assert (
        now["snapshot"]["cycle"]["state"] == "closed" and now["digest"] != at_first.json()["digest"]
    )


@pytest.mark.parametrize(
    ("as_of", "status", "code"),
    [
        ("0", 422, "invalid_value"),
        ("99999999", 422, "invalid_value"),
        ("twelve", 422, "validation_error"),
        ("2026-13-45T00:00:00", 422, "invalid_value"),
        ("2000-01-01T00:00:00Z", 404, "not_found"),
        ("1", 404, "not_found"),  # the seeded policy, before any cycle
    ],
)
def test_bad_as_of_is_refused_naming_the_field(
    client: TestClient,
    auth: AuthHeaders,
    world: dict[str, str],
    as_of: str,
    status: int,
    code: str,
) -> None:
    for path in ("snapshot", "snapshot/export"):
        response = client.get(
            f"/v1/cycles/{world['cycle']}/{path}", params={"as_of": as_of}, headers=auth(*PRIYA)
        )
        error = refused(response, status, code)
        if status == 422:
            assert error["details"][0]["field"] == "as_of"


def test_what_sealing_and_verifying_refuse(
    client: TestClient, auth: AuthHeaders, locked_world: dict[str, str]
) -> None:
    priya, tom, marcus = auth(*PRIYA), auth(*TOM), auth(*MARCUS)
    cycle = locked_world["cycle"]
    refused(client.get(f"/v1/cycles/{cycle}/snapshot/verify", headers=priya), 409, "not_sealed")
    refused(client.post(f"/v1/cycles/{cycle}/seal", headers=priya), 409, "invalid_transition")
    ok(
        client.post(
            f"/v1/cycles/{cycle}/close", json={"reason": "closed early in a test"}, headers=priya
        )
    )
    refused(client.post(f"/v1/cycles/{cycle}/seal", headers=tom), 403, "forbidden")
    refused(client.post(f"/v1/cycles/{cycle}/seal", headers=marcus), 403, "forbidden")
    ok(client.post(f"/v1/cycles/{cycle}/seal", headers=priya))
    error = refused(
        client.post(f"/v1/cycles/{cycle}/seal", headers=priya), 409, "invalid_transition"
    )
    assert "already sealed" in error["message"]
    refused(
        client.post(
            f"/v1/key-results/{locked_world['key_result']}/check-ins",
            json={"value": 9, "confidence": 0.9},
            headers=tom,
        ),
        409,
        "cycle_closed",
    )
    missing = "00000000-0000-4000-8000-000000000000"
    refused(client.get(f"/v1/cycles/{missing}/snapshot", headers=priya), 404, "not_found")
    refused(client.post(f"/v1/cycles/{missing}/seal", headers=priya), 404, "not_found")
    refused(client.get(f"/v1/cycles/{cycle}/snapshot", headers=auth("nobody")), 403, "forbidden")
    refused(client.get(f"/v1/cycles/{cycle}/snapshot"), 401, "unauthenticated")
    refused(
        client.get(f"/v1/cycles/{cycle}/snapshot/export?format=xml", headers=priya),
        422,
        "validation_error",
    )


def _export(
    client: TestClient, cycle: str, position: int | None, format: str, headers: dict[str, str]
) -> Any:
    params: dict[str, Any] = {"format": format}
    if position is not None:
        params["as_of"] = position
    return ok(client.get(f"/v1/cycles/{cycle}/snapshot/export", params=params, headers=headers))
