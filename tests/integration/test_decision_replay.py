"""Every decision replayable, on both backends: a store's decisions judged again
under the versions they name agree with what was recorded; an input altered in the
stored row fails its digest and is not judged; a version whose bundle now answers
otherwise is reported as differing, in full; the period filters by the decisions' time;
and the what-if judges the period's decisions under a proposal in the review worker."""

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import psycopg
import pytest
from okr_builders import definition
from quarter import EXEC, RAJ, RITA, plan_quarter, record_governed_quarter

from events.policy import PolicyVersion
from infra.config import Settings
from infra.stored_events import StoredEvents
from policies.bundle import PolicyBundle
from policies.engine import PolicyEngine
from policies.engines import EngineName, evaluator
from policies.replay import Replayability
from services.application.decision_replay import (
    BUNDLE_MISMATCH,
    DecisionReplay,
    ReplayTally,
    replay_decisions,
)
from services.application.decision_whatif import Period
from services.application.errors import GuardrailViolation, PolicyUnavailable
from services.application.guard import bundle_of
from services.application.recorded_decisions import RecordedDecision, recorded_decisions
from services.bootstrap import Platform, build

EMBEDDED: tuple[EngineName, ...] = ("embedded",)


def _tally(found: Iterator[DecisionReplay]) -> tuple[ReplayTally, list[DecisionReplay]]:
    tally, kept = ReplayTally(EMBEDDED), []
    for item in found:
        tally.add(item)
        kept.append(item)
    return tally, kept


def _decisions(platform: Platform) -> list[RecordedDecision]:
    return list(recorded_decisions(platform.ledger, page_size=7))


def _rewrite(settings: Settings, platform: Platform, position: int, state: bytes) -> None:
    """Replace a stored event's state in the database, past the append-only triggers."""
    events = StoredEvents(platform.ledger.recorder)
    if settings.database_url is not None:
        with psycopg.connect(settings.database_url) as conn:
            conn.execute("SET session_replication_role = replica")
            sql = f"UPDATE {events.table} SET state = %s WHERE notification_id = %s"
            conn.execute(sql.encode(), (state, position))
        return
    conn = sqlite3.connect(settings.data_dir / "okrgov.sqlite")
    try:
        conn.execute("DROP TRIGGER IF EXISTS stored_events_refuse_update")
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (state, position))
        conn.commit()
    finally:
        conn.close()


def test_a_stores_decisions_all_agree_when_judged_again(platform: Platform) -> None:
    record_governed_quarter(platform)  # decisions under versions 1 and 2, a denial among them
    decisions = _decisions(platform)
    assert {d.answer.outcome for d in decisions} == {"allowed", "denied"}
    assert {d.policy_version for d in decisions} == {1, 2}
    tally, found = _tally(replay_decisions(platform.ledger, EMBEDDED))
    assert tally.considered == len(decisions)
    assert tally.replayed == {"embedded": len(decisions)}
    assert (tally.differences, tally.tampered, tally.not_replayable) == (0, 0, {})
    assert [f.decision.id for f in found] == [d.id for d in decisions]


def test_an_input_altered_in_the_stored_row_fails_its_digest(
    platform: Platform, settings: Settings
) -> None:
    plan_quarter(platform)
    target = _decisions(platform)[-1]
    row = StoredEvents(platform.ledger.recorder).at(target.position)
    assert row is not None and row.state is not None
    state = json.loads(row.state)
    state["input"]["actor"]["roles"] = ["risk_officer"]  # the digest recorded stays
    _rewrite(settings, platform, target.position, json.dumps(state).encode())

    tally, found = _tally(replay_decisions(platform.ledger, EMBEDDED))
    [altered] = [f for f in found if f.decision.id == target.id]
    assert altered.status == Replayability.INPUT_MISMATCH
    assert altered.differences == {}  # an altered input is not judged
    assert (tally.tampered, tally.differences) == (1, 0)
    assert tally.replayed == {"embedded": tally.considered - 1}


def _reworded(bundle: PolicyBundle) -> PolicyBundle:
    """The bundle with one more warning on every key result added."""
    rule = (
        "package okrgov.guardrails\n\nimport rego.v1\n\n"
        'warn contains {"rule": "replayed", "message": "said only now"} if '
        'input.action == "key_result.add"\n'
    )
    return replace(bundle, modules={**bundle.modules, "zz_replayed.rego": rule})


def test_a_version_that_would_now_answer_otherwise_is_reported_in_full(
    platform: Platform,
) -> None:
    _, objective, _ = plan_quarter(platform)
    with pytest.raises(GuardrailViolation):
        platform.ledger.add_key_result(
            EXEC, objective.id, definition(title="Bonus pool KR", pay_linked=True)
        )

    def changed(engine: EngineName, bundle: PolicyBundle) -> PolicyEngine:
        return evaluator(engine, _reworded(bundle))

    tally, found = _tally(replay_decisions(platform.ledger, EMBEDDED, load=changed))
    differing = {f.decision.id: d for f in found for d in f.differences.values() if d is not None}
    added = [f.decision for f in found if f.decision.action == "key_result.add"]
    assert len(added) == 2 and set(differing) == {d.id for d in added}
    assert tally.differences == 2
    assert tally.agreeing == {"embedded": tally.considered - 2}
    for decision in added:
        shown = differing[decision.id].as_json()
        assert shown["differs_in"] == ["warn"]  # same outcome, same denials
        assert shown["warn"] == {
            "only_recorded": [],
            "only_now": [{"rule": "replayed", "message": "said only now"}],
        }
        assert shown["outcome"]["recorded"] == shown["outcome"]["now"] == decision.answer.outcome


def test_a_version_whose_stored_bundle_was_altered_is_not_judged(
    platform: Platform, settings: Settings
) -> None:
    plan_quarter(platform)
    seeded = next(
        n.id
        for n in platform.ledger.recorder.select_notifications(1, 100)
        if n.topic.endswith("PolicyVersion.Proposed")
    )
    row = StoredEvents(platform.ledger.recorder).at(seeded)
    assert row is not None and row.state is not None
    state = json.loads(row.state)
    state["data"]["altered"] = True
    _rewrite(settings, platform, seeded, json.dumps(state).encode())

    fresh = build(settings)  # as a replay would: a process that has not read it before
    try:
        tally, found = _tally(replay_decisions(fresh.ledger, EMBEDDED))
    finally:
        fresh.close()
    assert {f.status for f in found} == {BUNDLE_MISMATCH}
    assert tally.tampered == tally.considered == len(found) > 0


def test_since_and_until_select_by_the_decisions_time(platform: Platform) -> None:
    plan_quarter(platform)
    decisions = _decisions(platform)
    assert len(decisions) == 3
    first, middle, last = decisions

    def ids(period: Period) -> list[object]:
        found = replay_decisions(platform.ledger, EMBEDDED, period.since, period.until)
        return [f.decision.id for f in found]

    assert ids(Period(since=middle.at)) == [middle.id, last.id]
    assert ids(Period(until=middle.at)) == [first.id]
    assert ids(Period(since=middle.at, until=last.at)) == [middle.id]
    assert ids(Period(since=last.at + timedelta(microseconds=1))) == []


def test_the_whatif_judges_the_periods_decisions_under_the_proposal(platform: Platform) -> None:
    """A proposal with one more warning: each key result added in the period would be
    answered otherwise; the first ``limit`` are listed, the rest counted."""
    ledger = platform.ledger
    cycle, objective, _ = plan_quarter(platform)
    for title in ("Fund admin errors", "NAV restatements"):
        ledger.add_key_result(EXEC, objective.id, definition(title=title))
    decisions = _decisions(platform)
    registry = ledger.registry()
    shipped = bundle_of(ledger.load(PolicyVersion, registry.versions[0], to_change=False))
    proposed = ledger.record_proposal(RITA, _reworded(shipped), "one more warning")
    report = ledger.simulate_policy(
        RAJ, proposed.id, cycle.id, (), Period(since=decisions[1].at), limit=2
    )
    judged = report["replayed_decisions"]
    assert judged["considered"] == len(decisions) - 1  # the cycle was opened before
    assert (judged["replayed"], judged["unchanged"], judged["not_replayable"]) == (4, 1, 0)
    assert (judged["differing"], judged["left_out"]) == (3, 1)
    listed = judged["items"]
    assert [i["decision_id"] for i in listed] == [str(d.id) for d in decisions[2:4]]
    for item in listed:
        assert item["differs_in"] == ["warn"]
        assert item["warn"]["only_proposed"] == [{"rule": "replayed", "message": "said only now"}]
        assert item["recorded"]["outcome"] == item["proposed"]["outcome"] == "allowed"
    # Without a period asked for, the what-if judges no decisions (as before).
    plain = ledger.simulate_policy(RAJ, proposed.id, cycle.id)
    assert plain["replayed_decisions"] is None


def test_decisions_without_an_answer_or_an_input_are_counted_apart(
    platform: Platform, settings: Settings
) -> None:
    """An engine failure at the time has no answer to compare with; a decision recorded
    before decisions kept their input (class version 2) has nothing to judge."""
    _, objective, _ = plan_quarter(platform)
    ledger = platform.ledger
    decision_point, ledger.guard.decision_point = ledger.guard.decision_point, None
    try:
        with pytest.raises(PolicyUnavailable):  # fail closed, and the failure recorded
            ledger.add_key_result(EXEC, objective.id, definition(title="Fund admin errors"))
    finally:
        ledger.guard.decision_point = decision_point
    decisions = _decisions(platform)
    assert decisions[-1].answer.outcome == "error"
    older = decisions[0]
    row = StoredEvents(ledger.recorder).at(older.position)
    assert row is not None and row.state is not None
    state = json.loads(row.state)
    del state["input"]
    state["class_version"] = 2
    _rewrite(settings, platform, older.position, json.dumps(state).encode())

    tally, found = _tally(replay_decisions(ledger, EMBEDDED))
    assert tally.not_replayable == {Replayability.NO_INPUT: 1, Replayability.ENGINE_ERROR: 1}
    assert tally.replayed == {"embedded": tally.considered - 2}
    assert (tally.differences, tally.tampered) == (0, 0)
    assert {f.status for f in found if f.decision.id in (older.id, decisions[-1].id)} == {
        Replayability.NO_INPUT,
        Replayability.ENGINE_ERROR,
    }
