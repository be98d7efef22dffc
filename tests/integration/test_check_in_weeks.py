"""Weeks are real (issue 13, item 4): a check-in records the week it reports
(``effective_on``: today when left out, never in the future, never outside its cycle)
beside the time it was recorded; both are kept in the key result's read model, the API's
answers and the audit trail with its exports. Check-ins stored before they carried their
week read as the day they were recorded, their stored bytes untouched."""

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from okr_builders import definition
from quarter import EXEC, TOM, plan_quarter

from events import Commitment, KeyResult, Level, clock
from events.errors import InvalidValue
from infra.stored_events import StoredRow
from projections.audit import csv_lines, jsonl_lines
from projections.entries import COLUMNS, EXPORT_COLUMNS, EntryQuery, reported_week
from services.api import create_app
from services.bootstrap import Platform

#: A Friday in the 2026-Q4 cycle that plan_quarter opens (1 October to 31 December).
FRIDAY = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CHECKED_IN = "KeyResult.CheckedIn"


def _key_result(platform: Platform, ident: UUID) -> dict[str, Any]:
    platform.catch_up()
    doc = platform.okr_state.get("key_result", str(ident))
    assert doc is not None
    return doc


def _check_in_entries(platform: Platform, ident: UUID) -> list[dict[str, Any]]:
    platform.catch_up()
    entries = platform.audit.pages(EntryQuery(aggregate_id=str(ident), action=CHECKED_IN))
    return list(entries)


def test_a_check_in_keeps_its_week_beside_the_time_it_was_recorded(platform: Platform) -> None:
    with clock.at(FRIDAY):
        _, _, key_result = plan_quarter(platform)
        platform.ledger.check_in(TOM, key_result.id, 13, 0.6, "on time")
        platform.ledger.check_in(
            TOM, key_result.id, 12, 0.7, "last week's, late", effective_on=date(2026, 11, 13)
        )

    latest = _key_result(platform, key_result.id)["latest_check_in"]
    assert latest["effective_on"] == "2026-11-13"
    assert latest["at"].startswith("2026-11-20T09:00:00")
    assert (latest["value"], latest["confidence"], latest["note"], latest["by"]) == (
        12,
        0.7,
        "last week's, late",
        "tom",
    )

    entries = _check_in_entries(platform, key_result.id)
    assert [e["details"] for e in entries] == [
        {"effective_on": "2026-11-20"},
        {"effective_on": "2026-11-13"},
    ]
    assert [e["at"][:10] for e in entries] == ["2026-11-20", "2026-11-20"]
    # The week is a fact about the check-in, not a field of the key result that changed.
    assert set(entries[1]["changes"]) == {"value", "confidence", "note"}

    everything = list(platform.audit.pages(EntryQuery()))
    rows = list(csv.reader(io.StringIO("".join(csv_lines(everything)))))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert EXPORT_COLUMNS[: len(COLUMNS)] == COLUMNS  # the columns before keep their places
    weeks = {row[5] + "/" + row[6]: row[-1] for row in rows[1:] if row[3] == CHECKED_IN}
    assert sorted(weeks.values()) == ["2026-11-13", "2026-11-20"]
    assert all(row[-1] == "" for row in rows[1:] if row[3] != CHECKED_IN)

    lines = [json.loads(line) for line in jsonl_lines(everything)]
    assert all(list(line) == list(EXPORT_COLUMNS) for line in lines)
    assert [line["effective_on"] for line in lines if line["action"] == CHECKED_IN] == [
        "2026-11-20",
        "2026-11-13",
    ]


def _refused(platform: Platform, call: Any) -> InvalidValue:
    before = platform.ledger.recorder.max_notification_id()
    with pytest.raises(InvalidValue) as refused:
        call()
    assert refused.value.field == "effective_on"
    assert platform.ledger.recorder.max_notification_id() == before  # nothing half-written
    return refused.value


def test_a_week_in_the_future_or_outside_the_cycle_is_refused(platform: Platform) -> None:
    ledger = platform.ledger
    with clock.at(FRIDAY):
        _, _, key_result = plan_quarter(platform)

        def check_in(on: date | None) -> Any:
            return lambda: ledger.check_in(TOM, key_result.id, 12, 0.6, effective_on=on)

        future = _refused(platform, check_in(date(2026, 11, 21)))
        assert "in the future" in future.message and "2026-11-20" in future.message
        early = _refused(platform, check_in(date(2026, 9, 30)))
        assert "outside cycle 2026-Q4" in early.message and "2026-10-01" in early.message
        # The first day of the cycle and today are both weeks it may report.
        ledger.check_in(TOM, key_result.id, 14, 0.6, effective_on=date(2026, 10, 1))
        ledger.check_in(TOM, key_result.id, 13, 0.6, effective_on=FRIDAY.date())

        next_quarter = ledger.open_cycle(EXEC, "2027-Q1", date(2027, 1, 4), date(2027, 3, 31))
        objective = ledger.create_objective(
            EXEC, next_quarter.id, "Grow the fund", "priya", Level.COMPANY, Commitment.COMMITTED
        )
        not_yet = ledger.add_key_result(EXEC, objective.id, definition())
        before_start = _refused(
            platform, lambda: ledger.check_in(TOM, not_yet.id, 12, 0.6, "too early")
        )
        assert "starts on 2027-01-04" in before_start.message

    with clock.at(datetime(2027, 1, 6, 10, tzinfo=UTC)):
        late = _refused(platform, check_in(date(2027, 1, 5)))
        assert "outside cycle 2026-Q4" in late.message and "2026-12-31" in late.message
        # Left out after the cycle's end (not yet closed): it reports the last day.
        ledger.check_in(TOM, key_result.id, 9, 0.8, "the quarter's last week, late")
    assert _key_result(platform, key_result.id)["latest_check_in"]["effective_on"] == "2026-12-31"


def test_check_ins_stored_before_they_carried_their_week_still_load(platform: Platform) -> None:
    """A version 1 check-in (no ``effective_on``, no ``class_version``) loads, projects and
    is audited as reporting the day it was recorded; its stored bytes stay as written."""
    with clock.at(FRIDAY):
        _, _, key_result = plan_quarter(platform)
        platform.ledger.check_in(TOM, key_result.id, 13, 0.6, "today's")
    recorder = platform.ledger.recorder
    written = recorder.select_notifications(start=1, limit=10_000)
    today = next(n for n in written if n.topic.endswith(CHECKED_IN))
    state = json.loads(today.state)
    assert state.pop("class_version") == 2 and state.pop("effective_on") == "2026-11-20"
    state["timestamp"]["_data_"] = "2026-11-23T08:15:00+00:00"
    state["note"] = "stored by an older okrgov"
    old_bytes = json.dumps(state, separators=(",", ":")).encode()
    old = replace(today, originator_version=today.originator_version + 1, state=old_bytes)
    positions = recorder.insert_events([old])
    assert positions is not None
    (position,) = positions

    loaded: KeyResult = platform.ledger.repository.get(key_result.id)
    assert isinstance(loaded, KeyResult) and loaded.version == old.originator_version
    assert loaded.latest_value == 13
    event = platform.ledger.mapper.to_domain_event(recorder.select_notifications(position, 1)[0])
    assert isinstance(event, KeyResult.CheckedIn) and event.effective_on == "2026-11-23"

    latest = _key_result(platform, key_result.id)["latest_check_in"]
    assert (latest["note"], latest["effective_on"]) == ("stored by an older okrgov", "2026-11-23")
    entry = _check_in_entries(platform, key_result.id)[-1]
    assert entry["details"] == {"effective_on": "2026-11-23"}
    (exported,) = (
        line for line in map(json.loads, jsonl_lines([entry])) if line["action"] == CHECKED_IN
    )
    assert exported["effective_on"] == "2026-11-23"

    # An audit entry written before entries kept the week reads as its recorded day.
    assert reported_week({**entry, "details": {}}) == "2026-11-23"

    # Read as it is stored, the row (what the Merkle leaf hashes) is the bytes written.
    raw = recorder.select_notifications(position, 1)[0]
    assert raw.state == old_bytes
    row = StoredRow(position, UUID(str(old.originator_id)).hex, 1, old.topic, old_bytes)
    assert row.leaf().endswith(old_bytes)


# ---- over HTTP -----------------------------------------------------------------------


def _client(platform: Platform) -> tuple[TestClient, dict[str, str], dict[str, str]]:
    platform.start()
    client = TestClient(create_app(platform))
    priya = {"Authorization": f"Bearer {platform.tokens.create('priya', ['executive'])}"}
    marcus = {"Authorization": f"Bearer {platform.tokens.create('marcus', ['compliance'])}"}
    return client, priya, marcus


def _key_result_in(client: TestClient, priya: dict[str, str], name: str, start: date,
                   end: date) -> str:  # fmt: skip
    cycle = client.post(
        "/v1/cycles",
        json={"name": name, "starts_on": start.isoformat(), "ends_on": end.isoformat()},
        headers=priya,
    )
    assert cycle.status_code == 201, cycle.text
    objective = client.post(
        "/v1/objectives",
        json={"cycle_id": cycle.json()["id"], "title": "Strengthen our operations",
              "owner": "priya", "level": "company", "commitment": "committed"},
        headers=priya,
    )  # fmt: skip
    assert objective.status_code == 201, objective.text
    key_result = client.post(
        f"/v1/objectives/{objective.json()['id']}/key-results", json=definition(), headers=priya
    )
    assert key_result.status_code == 201, key_result.text
    return str(key_result.json()["id"])


def _invalid(answer: Any) -> str:
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert [d["field"] for d in error["details"]] == ["effective_on"], error
    return str(error["message"])


def test_over_http_the_week_is_optional_checked_and_shown(platform: Platform) -> None:
    """The real clock here: the server answers in its own thread."""
    client, priya, marcus = _client(platform)
    today = clock.today()
    with client:
        current = _key_result_in(
            client, priya, "current", today - timedelta(days=30), today + timedelta(days=60)
        )
        ended = _key_result_in(
            client, priya, "ended", today - timedelta(days=90), today - timedelta(days=10)
        )
        url = f"/v1/key-results/{current}/check-ins"

        plain = client.post(url, json={"value": 13, "confidence": 0.6}, headers=priya)
        assert plain.status_code == 201, plain.text
        assert plain.json()["latest_check_in"]["effective_on"] == today.isoformat()

        last_week = (today - timedelta(days=7)).isoformat()
        dated = client.post(
            url, json={"value": 12, "confidence": 0.7, "effective_on": last_week}, headers=priya
        )
        assert dated.status_code == 201, dated.text
        shown = client.get(f"/v1/key-results/{current}", headers=priya).json()
        assert shown["latest_check_in"]["effective_on"] == last_week
        assert shown["latest_check_in"]["at"][:10] == today.isoformat()
        assert shown["check_in_count"] == 2

        tomorrow = (today + timedelta(days=1)).isoformat()
        future = client.post(
            url, json={"value": 1, "confidence": 0.5, "effective_on": tomorrow}, headers=priya
        )
        assert "in the future" in _invalid(future)
        before = (today - timedelta(days=31)).isoformat()
        early = client.post(
            url, json={"value": 1, "confidence": 0.5, "effective_on": before}, headers=priya
        )
        assert "outside cycle current" in _invalid(early)
        after_end = (today - timedelta(days=5)).isoformat()
        late = client.post(
            f"/v1/key-results/{ended}/check-ins",
            json={"value": 1, "confidence": 0.5, "effective_on": after_end},
            headers=priya,
        )
        assert "outside cycle ended" in _invalid(late)
        _invalid(client.post(url, json={"value": 1, "confidence": 0.5,
                                        "effective_on": "next week"}, headers=priya))  # fmt: skip
        assert client.get(f"/v1/key-results/{current}", headers=priya).json()["check_in_count"] == 2

        trail = client.get(
            "/v1/audit", params={"aggregate_id": current, "type": CHECKED_IN}, headers=marcus
        )
        assert trail.status_code == 200, trail.text
        items = trail.json()["items"]
        assert [i["details"]["effective_on"] for i in items] == [today.isoformat(), last_week]
        assert [i["effective_on"] for i in items] == [today.isoformat(), last_week]
        exported = client.get(
            "/v1/audit",
            params={"aggregate_id": current, "type": CHECKED_IN, "format": "csv"},
            headers=marcus,
        )
        assert exported.status_code == 200, exported.text
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [r["effective_on"] for r in rows] == [today.isoformat(), last_week]
        assert [r["at"][:10] for r in rows] == [today.isoformat()] * 2
