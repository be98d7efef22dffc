"""The audit-trail projection on both backends: one entry per event in store order, the
before and after of every change, the policy decision of each command attached to its
entries (even when a batch boundary falls inside the command), filters served by the
table's indexed columns, and a rebuild or a replay in small batches giving identical rows."""

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from okr_builders import definition
from quarter import EXEC, TOM, plan_quarter

from projections.entries import EntryQuery
from services.application.errors import GuardrailViolation
from services.bootstrap import Platform

DECISION = "Decision.Recorded"


@dataclass
class History:
    cycle: UUID
    objective: UUID
    key_result: UUID
    other_objective: UUID
    other_key_result: UUID
    change_request: UUID


def _history(platform: Platform) -> History:
    """Tom's quarter: planned, a check-in, locked, his target moved from 8 to 10 days by
    a change request Priya approves; beside it, Lena's objective with its own key result."""
    ledger = platform.ledger
    cycle, objective, key_result = plan_quarter(platform)
    lena = ledger.create_objective(
        EXEC, cycle.id, "Keep our fund administration reliable", "lena", "team", "committed"
    )
    other = ledger.add_key_result(
        EXEC, lena.id, definition(title="Fund admin errors", owner="lena", unit="errors")
    )
    ledger.check_in(TOM, key_result.id, 13, 0.6, "fund admin data late again")
    ledger.lock_cycle(EXEC, cycle.id)
    request = ledger.request_change(
        TOM, key_result.id, {"target": 10}, "fund administrator migration slipped"
    )
    ledger.approve_change(EXEC, request.id)
    platform.catch_up()
    return History(cycle.id, objective.id, key_result.id, lena.id, other.id, request.id)


def _all(platform: Platform, **query: Any) -> list[dict[str, Any]]:
    return list(platform.audit.pages(EntryQuery(**query), chunk=7))


def _events(platform: Platform) -> list[tuple[int, Any]]:
    recorder, mapper = platform.ledger.recorder, platform.ledger.mapper
    notifications = recorder.select_notifications(start=1, limit=10_000)
    return [(n.id, mapper.to_domain_event(n)) for n in notifications]


def test_one_entry_per_event_in_store_order(platform: Platform) -> None:
    _history(platform)
    entries = _all(platform)
    events = _events(platform)
    assert [e["position"] for e in entries] == [position for position, _ in events]
    for entry, (_, event) in zip(entries, events, strict=True):
        assert entry["action"] == type(event).__qualname__
        assert entry["aggregate_id"] == str(event.originator_id)
        assert entry["aggregate_version"] == event.originator_version
        assert (entry["actor"], entry["correlation_id"]) == (event.actor, event.correlation_id)
        assert entry["reason"] == event.reason


def test_a_revision_through_a_change_request_shows_before_after_reason_and_decision(
    platform: Platform,
) -> None:
    history = _history(platform)
    revised = _all(platform, aggregate_id=str(history.key_result), action="KeyResult.Revised")
    assert len(revised) == 1
    entry = revised[0]
    assert entry["changes"] == {"target": {"before": 8.0, "after": 10.0}}
    assert entry["reason"] == "fund administrator migration slipped"
    assert entry["actor"] == "priya"
    assert entry["details"] == {"change_request_id": str(history.change_request)}
    assert entry["objective_id"] == str(history.objective)

    # The approval's command: approved, revised, applied, then its decision, one save.
    command = [e for e in _all(platform) if e["correlation_id"] == entry["correlation_id"]]
    assert [e["action"] for e in command] == [
        "ChangeRequest.Approved",
        "KeyResult.Revised",
        "ChangeRequest.Applied",
        DECISION,
    ]
    decision = command[-1]
    assert decision["details"]["action"] == "change_request.approve"
    assert decision["decision_id"] == decision["aggregate_id"]
    for e in command:
        assert (e["decision_id"], e["decision_outcome"]) == (decision["aggregate_id"], "allowed")
        assert e["policy_version"] == 1
        assert e["policy_digest"] == decision["policy_digest"] is not None
        assert e["objective_id"] == str(history.objective)


def test_every_command_entry_carries_its_decision_and_policy_commands_none(
    platform: Platform,
) -> None:
    _history(platform)
    for entry in _all(platform):
        if entry["aggregate_type"] in ("PolicyVersion", "PolicyRegistry"):
            assert entry["decision_id"] is None, entry  # policy commands are not guarded
        else:
            assert entry["decision_outcome"] == "allowed", entry
            assert entry["policy_version"] == 1, entry


def test_check_ins_show_the_previous_value_as_before(platform: Platform) -> None:
    _, _, key_result = plan_quarter(platform)
    platform.ledger.check_in(TOM, key_result.id, 13, 0.6, "late")
    platform.ledger.check_in(TOM, key_result.id, 13, 0.7, "late")
    platform.catch_up()
    second = _all(platform, aggregate_id=str(key_result.id), action="KeyResult.CheckedIn")[-1]
    # The value did not move, and the entry still says so: a check-in reports all three.
    assert second["changes"] == {
        "value": {"before": 13.0, "after": 13.0},
        "confidence": {"before": 0.6, "after": 0.7},
        "note": {"before": "late", "after": "late"},
    }


def test_a_denied_attempt_is_an_entry_and_leaves_other_entries_alone(platform: Platform) -> None:
    _, objective, _ = plan_quarter(platform)
    platform.catch_up()
    before = platform.audit.dump_entries()
    with pytest.raises(GuardrailViolation):
        platform.ledger.add_key_result(
            EXEC, objective.id, definition(title="Bonus pool KR", pay_linked=True)
        )
    platform.catch_up()
    after = platform.audit.dump_entries()
    assert after[: len(before)] == before
    [denied] = _all(platform)[len(before) :]
    assert denied["action"] == DECISION
    assert denied["decision_outcome"] == "denied"
    assert denied["actor"] == "priya"
    # The attempt names the objective it was made on, so filtering by objective finds it.
    assert denied["objective_id"] == str(objective.id)
    assert [v["rule"] for v in denied["details"]["deny"]] == ["pay_linked"]
    assert _all(platform, action=DECISION, flagged=True)[-1]["position"] == denied["position"]


def test_events_recorded_before_they_named_objective_and_covered_events_still_read(
    platform: Platform,
) -> None:
    """A version 1 change request or decision, stored before they carried their objective
    and the events covered, decodes with no objective and covering nothing."""
    _history(platform)
    recorder, mapper = platform.ledger.recorder, platform.ledger.mapper
    stored = recorder.select_notifications(start=1, limit=10_000)
    kinds = {
        "ChangeRequest.Requested": ("objective_id", "kind", "target_kind", "target_id", "cycle_id"),
        DECISION: ("objective_id", "covers"),
    }
    seen = set()
    for notification in stored:
        event = mapper.to_domain_event(notification)
        kind = type(event).__qualname__
        if kind not in kinds or kind in seen:
            continue
        seen.add(kind)
        state = json.loads(notification.state)
        assert state.pop("class_version") >= 2
        for name in kinds[kind]:
            del state[name]
        old = mapper.to_domain_event(replace(notification, state=json.dumps(state).encode()))
        assert old.objective_id is None
        assert getattr(old, "covers", []) == []
        assert old.originator_id == event.originator_id
        if kind == "ChangeRequest.Requested":  # a request of version 1 was about a key result
            assert (old.kind, old.target_kind) == ("revise", "key_result")
            assert old.target_id == old.key_result_id == event.key_result_id
    assert seen == set(kinds)


def test_filters(platform: Platform) -> None:
    history = _history(platform)
    everything = _all(platform)

    by_objective = _all(platform, objective_id=str(history.objective))
    assert by_objective == [e for e in everything if e["objective_id"] == str(history.objective)]
    ids = {e["aggregate_id"] for e in by_objective}
    # The objective, its key result (with the check-in), the change request, decisions.
    assert {str(history.objective), str(history.key_result), str(history.change_request)} <= ids
    assert str(history.other_objective) not in ids
    assert str(history.other_key_result) not in ids
    assert "KeyResult.CheckedIn" in {e["action"] for e in by_objective}
    assert {e["decision_outcome"] for e in by_objective} == {"allowed"}

    by_key_result = _all(platform, aggregate_id=str(history.key_result))
    assert {e["aggregate_id"] for e in by_key_result} == {str(history.key_result)}
    assert [e["action"] for e in by_key_result] == [
        "KeyResult.Added",
        "KeyResult.CheckedIn",
        "KeyResult.Revised",
    ]

    by_actor = _all(platform, actor="tom")
    assert by_actor and {e["actor"] for e in by_actor} == {"tom"}
    assert len(by_actor) == sum(e["actor"] == "tom" for e in everything)

    locks = _all(platform, action="Cycle.Locked")
    assert [e["aggregate_id"] for e in locks] == [str(history.cycle)]

    middle = everything[len(everything) // 2]
    since = _all(platform, since=datetime.fromisoformat(middle["at"]))
    until = _all(platform, until=datetime.fromisoformat(middle["at"]))
    assert since[0] == middle
    assert until + since == everything
    window = _all(
        platform,
        since=datetime.fromisoformat(middle["at"]),
        until=datetime.fromisoformat(middle["at"]) + timedelta(0, 0, 1),
    )
    assert window == [middle]


def test_cursor_pages_return_every_entry_once(platform: Platform) -> None:
    _history(platform)
    everything = _all(platform)
    seen, cursor = [], 0
    while page := platform.audit.entries(EntryQuery(), cursor, 4):
        seen.extend(page)
        cursor = page[-1]["position"]
    assert seen == everything


def test_rebuild_and_small_batches_reproduce_identical_rows(platform: Platform) -> None:
    _history(platform)
    entries, documents = platform.audit.dump_entries(), platform.audit.dump()
    assert len(entries) == platform.ledger.recorder.max_notification_id()

    platform.rebuild()
    assert platform.audit.dump_entries() == entries
    assert platform.audit.dump() == documents

    # Small batches: a command's decision often lands in a later batch than some or all
    # of the command's events, and must still be attached to every one of them.
    follower = platform.followers["audit"]
    for size in (1, 2, 3):
        follower.view.reset()
        assert platform.audit.dump_entries() == []
        follower.batch_size = size
        follower.catch_up()
        assert platform.audit.dump_entries() == entries, size
        assert platform.audit.dump() == documents, size


def test_the_entries_table_has_its_indexes(platform: Platform) -> None:
    view = platform.audit
    with view.transaction(commit=False) as c:
        if view.placeholder == "?":
            c.execute(f"PRAGMA index_list({view.entries_table})")
            names = {row["name"] for row in c.fetchall()}
        else:
            c.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname=%s AND tablename=%s",
                (view.datastore.schema, "audit_entries"),
            )
            names = {row["indexname"] for row in c.fetchall()}
    for column in ("aggregate", "objective", "actor", "action", "at", "flagged"):
        assert f"audit_entries_{column}" in names, names
