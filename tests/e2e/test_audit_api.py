"""Marcus's audit trail through HTTP and the CLI: who changed the LP reporting target,
when, why and under which policy version, filtered by that key result and exported as
CSV; cursor paging that returns every entry exactly once; exports of thousands of
entries streamed a chunk at a time; only oversight roles read it; bad filters are 422."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from e2e_support import ANA, MARCUS, PRIYA, SAM, TOM, UNKNOWN, ok, position
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from projections.entries import EXPORT_COLUMNS, EntryView
from projections.runner import AUDIT
from services.api.deps import Reads
from services.api.routes import audit as audit_route
from services.api.schemas.audit import AuditFilter
from services.application.principals import Principal
from services.bootstrap import Platform
from services.cli.main import app as cli

AuthHeaders = Callable[..., dict[str, str]]


def fresh(platform: Platform, headers: dict[str, str]) -> dict[str, str]:
    """Read as of everything recorded so far (Marcus reads what others wrote)."""
    return {**headers, "X-Okrgov-Min-Position": str(position(platform))}


@pytest.fixture
def target_moved(
    client: TestClient, auth: AuthHeaders, locked_world: dict[str, str]
) -> dict[str, str]:
    """Tom checks in, then moves his target from 8 to 10 days through a change request
    that Priya approves."""
    tom, priya = auth(*TOM), auth(*PRIYA)
    kr = locked_world["key_result"]
    ok(
        client.post(
            f"/v1/key-results/{kr}/check-ins",
            json={"value": 13, "confidence": 0.6, "note": "fund admin data late again"},
            headers=tom,
        ),
        201,
    )
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
    ok(client.post(f"/v1/change-requests/{request['id']}/approve", headers=priya))
    return {**locked_world, "change_request": request["id"]}


def test_marcus_exports_the_history_of_the_lp_reporting_target(
    client: TestClient, auth: AuthHeaders, platform: Platform, target_moved: dict[str, str]
) -> None:
    marcus = fresh(platform, auth(*MARCUS))
    kr = target_moved["key_result"]
    answer = client.get("/v1/audit", params={"aggregate_id": kr, "format": "csv"}, headers=marcus)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(answer.text))
    assert tuple(reader.fieldnames or ()) == EXPORT_COLUMNS
    rows = list(reader)
    assert [r["action"] for r in rows] == [
        "KeyResult.Added",
        "KeyResult.CheckedIn",
        "KeyResult.Revised",
    ]
    for row in rows:
        assert row["aggregate_id"] == kr
        assert row["objective_id"] == target_moved["objective"]
        assert row["at"] and row["correlation_id"] and row["decision_id"]
        assert (row["decision_outcome"], row["policy_version"]) == ("allowed", "1")
        assert len(row["policy_digest"]) == 64
    added, checked_in, revised = rows
    assert (added["actor"], checked_in["actor"], revised["actor"]) == ("priya", "tom", "priya")
    assert json.loads(added["changes"])["target"] == {"before": None, "after": 8.0}
    assert json.loads(revised["changes"]) == {"target": {"before": 8.0, "after": 10.0}}
    assert revised["reason"] == "fund administrator migration slipped"
    assert json.loads(revised["details"]) == {"change_request_id": target_moved["change_request"]}

    # The same history as JSON: who asked is on the change request's entries.
    page = ok(
        client.get(
            "/v1/audit",
            params={"aggregate_id": target_moved["change_request"]},
            headers=marcus,
        )
    )
    requested, approved, applied = page["items"]
    assert (requested["action"], requested["actor"]) == ("ChangeRequest.Requested", "tom")
    assert requested["reason"] == "fund administrator migration slipped"
    assert (approved["action"], approved["actor"]) == ("ChangeRequest.Approved", "priya")
    assert approved["changes"] == {"status": {"before": "pending", "after": "approved"}}
    assert applied["decision_id"] == approved["decision_id"] == rows[2]["decision_id"]
    assert page["next_cursor"] is None


def test_filter_by_objective_covers_its_key_results_and_change_requests(
    client: TestClient, auth: AuthHeaders, platform: Platform, target_moved: dict[str, str]
) -> None:
    marcus = fresh(platform, auth(*MARCUS))
    items = ok(
        client.get(
            "/v1/audit",
            params={"objective_id": target_moved["objective"], "limit": 1000},
            headers=marcus,
        )
    )["items"]
    kinds = {(i["aggregate_type"], i["aggregate_id"]) for i in items}
    assert ("Objective", target_moved["objective"]) in kinds
    assert ("KeyResult", target_moved["key_result"]) in kinds
    assert ("ChangeRequest", target_moved["change_request"]) in kinds
    assert "KeyResult.CheckedIn" in {i["action"] for i in items}
    assert {i["objective_id"] for i in items} == {target_moved["objective"]}
    # The cycle's own events (opened, locked) are not the objective's.
    assert "Cycle.Locked" not in {i["action"] for i in items}

    by_type = ok(client.get("/v1/audit", params={"type": "KeyResult.CheckedIn"}, headers=marcus))[
        "items"
    ]
    assert [(i["actor"], i["changes"]["value"]["after"]) for i in by_type] == [("tom", 13.0)]
    by_actor = ok(client.get("/v1/audit", params={"actor": "tom"}, headers=marcus))["items"]
    assert by_actor and {i["actor"] for i in by_actor} == {"tom"}
    # Any spelling of a user id is the same person.
    spelt = ok(client.get("/v1/audit", params={"actor": " TOM "}, headers=marcus))["items"]
    assert spelt == by_actor
    nothing = ok(client.get("/v1/audit", params={"aggregate_id": UNKNOWN}, headers=marcus))
    assert nothing == {"items": [], "next_cursor": None}


def test_time_range(
    client: TestClient, auth: AuthHeaders, platform: Platform, target_moved: dict[str, str]
) -> None:
    marcus = fresh(platform, auth(*MARCUS))
    everything = ok(client.get("/v1/audit", params={"limit": 1000}, headers=marcus))["items"]
    middle = everything[len(everything) // 2]
    since = ok(
        client.get("/v1/audit", params={"since": middle["at"], "limit": 1000}, headers=marcus)
    )["items"]
    until = ok(
        client.get("/v1/audit", params={"until": middle["at"], "limit": 1000}, headers=marcus)
    )["items"]
    assert since[0] == middle
    assert until + since == everything


def test_cursor_paging_returns_every_entry_exactly_once(
    client: TestClient, auth: AuthHeaders, platform: Platform, target_moved: dict[str, str]
) -> None:
    marcus = fresh(platform, auth(*MARCUS))
    seen: list[dict[str, Any]] = []
    cursor: int | None = 0
    pages = 0
    while cursor is not None:
        page = ok(client.get("/v1/audit", params={"cursor": cursor, "limit": 4}, headers=marcus))
        assert len(page["items"]) <= 4
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        pages += 1
    positions = [i["position"] for i in seen]
    assert positions == sorted(set(positions))
    assert pages > 3
    exported = client.get("/v1/audit", params={"format": "jsonl"}, headers=marcus)
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert [list(line) for line in lines] == [list(EXPORT_COLUMNS)] * len(lines)
    assert lines == seen
    assert len(seen) == position(platform)


def test_a_csv_export_of_thousands_of_entries_streams_in_chunks(
    client: TestClient,
    auth: AuthHeaders,
    platform: Platform,
    locked_world: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tom = Principal.of("tom", ["member"])
    kr = locked_world["key_result"]
    for week in range(1500):  # each check-in records the event and its decision
        platform.ledger.check_in(tom, UUID(kr), 15 - week * 0.001, 0.6, f"check-in {week}")
    total = position(platform)
    assert total > 3000

    reads: list[int] = []
    entries = EntryView.entries

    def counted(view: EntryView, *args: Any, **kwargs: Any) -> Any:
        found = entries(view, *args, **kwargs)
        reads.append(len(found))
        return found

    monkeypatch.setattr(EntryView, "entries", counted)
    marcus = fresh(platform, auth(*MARCUS))
    lines = []
    with client.stream("GET", "/v1/audit", params={"format": "csv"}, headers=marcus) as answer:
        assert answer.status_code == 200
        assert "content-length" not in answer.headers  # sent as it is produced
        lines = [line for line in answer.iter_lines() if line]
    exported = [int(row["position"]) for row in csv.DictReader(lines)]
    # One row per event recorded up to where the export began, each once, in order.
    assert exported == notification_ids(platform, upto=exported[-1])
    assert len(exported) >= total
    # Read from the table a chunk at a time, never the whole result at once.
    assert max(reads) <= audit_route.CHUNK
    assert len(reads) >= total // audit_route.CHUNK

    # The route hands FastAPI a generator-fed StreamingResponse.
    answer = audit_route.audit_trail(
        Reads({AUDIT: platform.audit}),
        AuditFilter(format="csv"),  # type: ignore[arg-type]
    )
    assert isinstance(answer, StreamingResponse)
    reads.clear()
    body = asyncio.run(_collect(answer))
    streamed = [int(row["position"]) for row in csv.DictReader(io.StringIO(body))]
    assert streamed == notification_ids(platform, upto=streamed[-1])
    assert len(reads) > 1


def notification_ids(platform: Platform, upto: int) -> list[int]:
    recorder = platform.ledger.recorder
    return [n.id for n in recorder.select_notifications(start=1, limit=upto, stop=upto)]


async def _collect(answer: StreamingResponse) -> str:
    parts = [part async for part in answer.body_iterator]
    return "".join(p if isinstance(p, str) else bytes(p).decode() for p in parts)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (MARCUS, 200),
        (PRIYA, 200),
        (ANA, 200),
        (TOM, 403),
        (SAM, 403),
        (("lena", "member", "executive"), 200),
    ],
)
def test_who_reads_the_audit_trail(
    client: TestClient,
    auth: AuthHeaders,
    world: dict[str, str],
    who: tuple[str, ...],
    status: int,
) -> None:
    for fmt in ("json", "csv", "jsonl"):
        answer = client.get("/v1/audit", params={"format": fmt}, headers=auth(*who))
        assert answer.status_code == status, answer.text
        if status == 403:
            assert answer.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, "until"),
        ({"aggregate_id": "not-an-id"}, "aggregate_id"),
        ({"objective_id": "42"}, "objective_id"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"cursor": "-1"}, "cursor"),
        ({"cursor": "last"}, "cursor"),
        ({"format": "xml"}, "format"),
        ({"actr": "tom"}, "actr"),
    ],
)
def test_bad_filters_are_422_naming_the_field(
    client: TestClient, auth: AuthHeaders, params: dict[str, str], field: str
) -> None:
    answer = client.get("/v1/audit", params=params, headers=auth(*MARCUS))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == [field]


def test_the_cli_exports_what_the_api_does(
    client: TestClient,
    auth: AuthHeaders,
    platform: Platform,
    target_moved: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OKRGOV_DATA_DIR", str(platform.settings.data_dir))
    monkeypatch.setenv("OKRGOV_SECRET_KEY", "test-secret-of-enough-length-for-hs256")
    monkeypatch.setenv("OKRGOV_LOG_LEVEL", "WARNING")
    marcus = fresh(platform, auth(*MARCUS))
    runner = CliRunner()
    for fmt in ("csv", "jsonl"):
        query = {"objective_id": target_moved["objective"], "format": fmt}
        expected = client.get("/v1/audit", params=query, headers=marcus).text
        out = tmp_path / f"audit.{fmt}"
        args = ["audit", "export", "--format", fmt, "--objective-id", target_moved["objective"]]
        result = runner.invoke(cli, [*args, "--output", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes().decode("utf-8") == expected
        to_stdout = runner.invoke(cli, args)
        assert to_stdout.exit_code == 0, to_stdout.output
        assert to_stdout.stdout_bytes.decode("utf-8") == expected

    refused = runner.invoke(cli, ["audit", "export", "--format", "csv", "--since", "yesterday"])
    assert refused.exit_code == 2
    assert "yesterday" in refused.output
