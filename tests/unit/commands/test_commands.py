"""Every command on cycles, objectives and key results, run on the in-memory store with a
fake decision point (``ledger_doubles``): what each records, what the guard is asked, and
what is refused before anything is written. The guard's own rules (a denial recorded
alone, an engine failure fail-closed) are here too; change requests, policies and
snapshots are in ``test_commands_governance``."""

from datetime import date
from typing import Any

import pytest
from ledger_doubles import (
    EXEC,
    IN_MEMORY,
    LENA,
    TOM,
    FakeDecisionPoint,
    Quarter,
    events_after,
    kinds,
    last_position,
)
from okr_builders import definition

from events import Commitment, KeyResult, Level, Objective
from events.decision import ALLOWED, DENIED, ERROR
from events.errors import ChangeNeedsApproval, CycleLocked, InvalidTransition, InvalidValue
from infra.logging import correlated
from policies.engine import PolicyError, PolicyTimeout
from services.application.errors import (
    Conflict,
    Forbidden,
    GuardrailViolation,
    PolicyTimedOut,
    PolicyUnavailable,
)
from services.application.ledger import Ledger

# ---- the guard ---------------------------------------------------------------------------


def test_an_allowed_command_records_its_events_with_the_decision(
    ledger: Ledger, point: FakeDecisionPoint
) -> None:
    before = last_position(ledger)
    recorded = ledger.open_cycle(EXEC, "2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    events = events_after(ledger, before)
    assert kinds(events) == ["Cycle.Created", "CycleName.Reserved", "Decision.Recorded"]
    assert recorded.position == last_position(ledger)
    decision = events[-1]
    assert decision.outcome == ALLOWED and decision.target_id == recorded.id
    assert decision.policy_version == 1  # the seeded version, loaded into the decision point
    assert [ref[0] for ref in decision.covers] == [recorded.id, events[1].originator_id]
    [asked] = point.asked
    assert asked["action"] == "cycle.open"
    assert asked["actor"] == {"id": "priya", "roles": ["executive"]}
    assert asked["resource"]["after"]["name"] == "2026-Q4"
    assert point.loaded[0][0] == 1


def test_a_denied_command_records_the_denial_and_nothing_else(
    ledger: Ledger, point: FakeDecisionPoint, quarter: Quarter
) -> None:
    point.deny("key_result.add", "no_pay_link", when=lambda d: d["resource"]["after"]["pay_linked"])
    before = last_position(ledger)
    with pytest.raises(GuardrailViolation) as refused:
        ledger.add_key_result(EXEC, quarter.objective.id, definition(pay_linked=True))
    events = events_after(ledger, before)
    assert kinds(events) == ["Decision.Recorded"]
    assert events[0].outcome == DENIED
    assert [v["rule"] for v in events[0].deny] == ["no_pay_link"]
    assert refused.value.position == last_position(ledger)
    objective = ledger.load(Objective, quarter.objective.id, to_change=False)
    assert len(objective.key_result_ids) == 1


def test_warnings_are_answered_and_recorded_with_the_decision(
    ledger: Ledger, point: FakeDecisionPoint, quarter: Quarter
) -> None:
    point.warn("key_result.check_in", "low_confidence")
    recorded = ledger.check_in(TOM, quarter.key_result.id, 13, 0.2, "slipping")
    assert recorded.warnings == ({"rule": "low_confidence", "message": "low_confidence says no"},)
    decision = events_after(ledger, recorded.position - 1)[-1]
    assert [w["rule"] for w in decision.warn] == ["low_confidence"]


@pytest.mark.parametrize(
    ("failure", "refusal"),
    [
        (PolicyError("engine down"), PolicyUnavailable),
        (PolicyTimeout("too slow", 0.05), PolicyTimedOut),
    ],
)
def test_an_engine_failure_is_recorded_and_the_command_refused(
    ledger: Ledger,
    point: FakeDecisionPoint,
    quarter: Quarter,
    failure: PolicyError,
    refusal: type[Exception],
) -> None:
    point.failure = failure
    before = last_position(ledger)
    with pytest.raises(refusal):
        ledger.check_in(TOM, quarter.key_result.id, 13, 0.6)
    events = events_after(ledger, before)
    assert kinds(events) == ["Decision.Recorded"]
    assert events[0].outcome == ERROR and str(failure) in events[0].error


def test_a_ledger_given_no_decision_point_refuses_fail_closed() -> None:
    ledger = Ledger(env=IN_MEMORY)
    ledger.seed_policy()
    before = last_position(ledger)
    with pytest.raises(PolicyUnavailable, match="no policy decision point"):
        ledger.open_cycle(EXEC, "2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    assert [e.outcome for e in events_after(ledger, before)] == [ERROR]


def test_closing_the_ledger_closes_its_decision_point(
    ledger: Ledger, point: FakeDecisionPoint
) -> None:
    ledger.close()
    assert point.closed


# ---- cycles ------------------------------------------------------------------------------


def test_only_executives_and_admins_open_a_cycle(ledger: Ledger, point: FakeDecisionPoint) -> None:
    before = last_position(ledger)
    with pytest.raises(Forbidden):
        ledger.open_cycle(TOM, "2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    assert last_position(ledger) == before and point.asked == []


def test_lock_shows_the_guard_every_live_key_result(
    ledger: Ledger, point: FakeDecisionPoint, quarter: Quarter
) -> None:
    ledger.check_in(TOM, quarter.key_result.id, 13, 0.4)
    recorded = ledger.lock_cycle(EXEC, quarter.cycle.id)
    assert kinds(events_after(ledger, recorded.position - 2)) == [
        "Cycle.Locked",
        "Decision.Recorded",
    ]
    asked = point.asked[-1]
    assert asked["action"] == "cycle.lock" and asked["cycle"]["state"] == "locked"
    assert asked["cycle_key_results"] == [
        {"id": str(quarter.key_result.id), "objective_id": str(quarter.objective.id),
         "confidence": 0.4, "confidence_basis_points": 4000},
    ]  # fmt: skip
    with pytest.raises(InvalidTransition):
        ledger.lock_cycle(EXEC, quarter.cycle.id)


def test_after_lock_definitions_change_only_through_requests(
    ledger: Ledger, quarter: Quarter
) -> None:
    ledger.lock_cycle(EXEC, quarter.cycle.id)
    before = last_position(ledger)
    with pytest.raises(ChangeNeedsApproval):
        ledger.revise_key_result(EXEC, quarter.key_result.id, {"target": 9}, "tighter")
    with pytest.raises(CycleLocked):
        ledger.add_key_result(EXEC, quarter.objective.id, definition(title="Another"))
    assert kinds(events_after(ledger, before)) == []
    ledger.check_in(TOM, quarter.key_result.id, 12, 0.7)  # check-ins go on


def test_close_scores_every_live_key_result_and_objective_in_one_save(
    ledger: Ledger, quarter: Quarter
) -> None:
    ledger.check_in(TOM, quarter.key_result.id, 8, 0.9)
    ledger.lock_cycle(EXEC, quarter.cycle.id)
    before = last_position(ledger)
    closed = ledger.close_cycle(EXEC, quarter.cycle.id, "closed before its end date in a test")
    assert sorted(kinds(events_after(ledger, before))) == [
        "Cycle.Closed", "Decision.Recorded", "KeyResult.Scored", "Objective.Scored",
    ]  # fmt: skip
    assert closed.position == last_position(ledger)
    key_result = ledger.load(KeyResult, quarter.key_result.id, to_change=False)
    assert key_result.score == 1.0
    with pytest.raises(Forbidden):
        ledger.close_cycle(TOM, quarter.cycle.id)


# ---- objectives --------------------------------------------------------------------------


def test_create_objective_registers_it_on_its_cycle(
    ledger: Ledger, point: FakeDecisionPoint, quarter: Quarter
) -> None:
    before = last_position(ledger)
    created = ledger.create_objective(
        EXEC, quarter.cycle.id, "Reliable fund admin", "lena", Level.TEAM, Commitment.COMMITTED,
        parent_id=quarter.objective.id,
    )  # fmt: skip
    assert kinds(events_after(ledger, before)) == [
        "Objective.Created", "Cycle.ObjectiveRegistered", "Decision.Recorded",
    ]  # fmt: skip
    asked = point.asked[-1]
    assert asked["action"] == "objective.create" and asked["resource"]["id"] is None
    assert asked["resource"]["after"]["parent_id"] == str(quarter.objective.id)
    decision = events_after(ledger, before)[-1]
    assert decision.objective_id == created.id  # the guard saw only its document


def test_create_objective_refuses_an_unknown_parent_and_a_member_writing_company_goals(
    ledger: Ledger, point: FakeDecisionPoint, quarter: Quarter
) -> None:
    before, asked = last_position(ledger), len(point.asked)
    with pytest.raises(InvalidValue, match="does not exist"):
        ledger.create_objective(
            EXEC, quarter.cycle.id, "Orphan", "lena", Level.TEAM, Commitment.COMMITTED,
            parent_id=quarter.key_result.id,
        )  # fmt: skip
    with pytest.raises(Forbidden):
        ledger.create_objective(
            TOM, quarter.cycle.id, "Mine", "tom", Level.COMPANY, Commitment.COMMITTED
        )
    assert last_position(ledger) == before and len(point.asked) == asked


def test_revise_and_reown_an_objective_show_the_guard_before_and_after(
    ledger: Ledger, point: FakeDecisionPoint, quarter: Quarter
) -> None:
    ident = quarter.objective.id
    ledger.revise_objective(EXEC, ident, title=" Stronger operations ", reason="sharper")
    asked = point.asked[-1]
    assert asked["action"] == "objective.revise"
    assert asked["resource"]["before"]["title"] == "Strengthen operations"
    assert asked["resource"]["after"]["title"] == "Stronger operations"
    recorded = ledger.reown_objective(EXEC, ident, "lena", "Lena leads it now")
    assert kinds(events_after(ledger, recorded.position - 2)) == [
        "Objective.Reowned",
        "Decision.Recorded",
    ]
    assert point.asked[-1]["resource"]["after"]["owner"] == "lena"
    with pytest.raises(Forbidden):  # Tom owns neither the objective nor the company
        ledger.revise_objective(TOM, ident, title="Tom's now")


def test_realign_records_the_alignment_on_the_cycle_and_refuses_a_loop(
    ledger: Ledger, quarter: Quarter
) -> None:
    team = ledger.create_objective(
        EXEC, quarter.cycle.id, "Team", "lena", Level.TEAM, Commitment.COMMITTED
    )
    recorded = ledger.realign_objective(EXEC, team.id, quarter.objective.id, "reports up")
    assert kinds(events_after(ledger, recorded.position - 3)) == [
        "Objective.Realigned", "Cycle.AlignmentRecorded", "Decision.Recorded",
    ]  # fmt: skip
    before = last_position(ledger)
    with pytest.raises(InvalidValue, match="loop"):
        ledger.realign_objective(EXEC, quarter.objective.id, team.id, "upside down")
    assert last_position(ledger) == before


def test_retire_objective_shows_the_guard_nothing_after(
    ledger: Ledger, point: FakeDecisionPoint, quarter: Quarter
) -> None:
    recorded = ledger.retire_objective(EXEC, quarter.objective.id, "merged into another")
    assert kinds(events_after(ledger, recorded.position - 2)) == [
        "Objective.Retired",
        "Decision.Recorded",
    ]
    assert point.asked[-1]["action"] == "objective.retire"
    assert point.asked[-1]["resource"]["after"] is None


# ---- key results -------------------------------------------------------------------------


def test_add_key_result_attaches_it_and_shows_the_guard_its_siblings(
    ledger: Ledger, point: FakeDecisionPoint, quarter: Quarter
) -> None:
    before = last_position(ledger)
    added = ledger.add_key_result(EXEC, quarter.objective.id, definition(title="Fewer errors"))
    assert kinds(events_after(ledger, before)) == [
        "KeyResult.Added", "Objective.KeyResultAttached", "Decision.Recorded",
    ]  # fmt: skip
    asked = point.asked[-1]
    assert asked["action"] == "key_result.add"
    assert [s["id"] for s in asked["siblings"]] == [str(quarter.key_result.id)]
    assert asked["objective"]["id"] == str(quarter.objective.id)
    # The words the rules match are prepared for them, folded the same for every engine.
    assert asked["resource"]["words"]["title"] == " fewer errors "
    key_result = ledger.load(KeyResult, added.id, to_change=False)
    assert key_result.title == "Fewer errors"


def test_revise_and_retire_a_key_result(
    ledger: Ledger, point: FakeDecisionPoint, quarter: Quarter
) -> None:
    ident = quarter.key_result.id
    ledger.revise_key_result(TOM, ident, {"target": 9}, "the board asked")
    asked = point.asked[-1]
    assert asked["action"] == "key_result.revise"
    assert (asked["resource"]["before"]["target"], asked["resource"]["after"]["target"]) == (8, 9)
    with pytest.raises(Forbidden):
        ledger.retire_key_result(LENA, ident, "not hers")
    recorded = ledger.retire_key_result(TOM, ident, "replaced")
    assert kinds(events_after(ledger, recorded.position - 2)) == [
        "KeyResult.Retired",
        "Decision.Recorded",
    ]
    assert point.asked[-1]["resource"]["after"] is None


def test_check_in_is_stamped_with_actor_and_correlation_id(
    ledger: Ledger, point: FakeDecisionPoint, quarter: Quarter
) -> None:
    with correlated("req-42"):
        recorded = ledger.check_in(TOM, quarter.key_result.id, 13, 0.6, "data late")
    check_in, decision = events_after(ledger, recorded.position - 2)
    assert type(check_in).__qualname__ == "KeyResult.CheckedIn"
    assert (check_in.actor, check_in.correlation_id) == ("tom", "req-42")
    assert decision.correlation_id == "req-42"
    assert point.asked[-1]["resource"]["after"] | {} == {
        **point.asked[-1]["resource"]["before"], "value": 13, "confidence": 0.6,
    }  # fmt: skip
    with pytest.raises(Forbidden):
        ledger.check_in(LENA, quarter.key_result.id, 12, 0.5)


# ---- retries -----------------------------------------------------------------------------


def test_a_command_that_loses_a_race_is_retried_from_fresh_state(
    ledger: Ledger, quarter: Quarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = ledger.key_result_context
    raced: list[bool] = []

    def load_then_lose_the_race(ident: Any) -> Any:
        loaded = original(ident)
        if not raced:  # another writer checks in between this load and this save
            raced.append(True)
            ledger.check_in(EXEC, quarter.key_result.id, 11, 0.4, "the other writer")
        return loaded

    monkeypatch.setattr(ledger, "key_result_context", load_then_lose_the_race)
    ledger.check_in(TOM, quarter.key_result.id, 12, 0.5, "the stale writer")
    key_result = ledger.load(KeyResult, quarter.key_result.id, to_change=False)
    assert [c[2] for c in key_result.check_ins] == ["the other writer", "the stale writer"]


def test_a_race_lost_past_the_budget_answers_conflict_and_records_nothing(
    ledger: Ledger, quarter: Quarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = ledger.key_result_context
    ledger.conflict_budget_seconds = 0.0

    racing: list[bool] = []

    def always_lose(ident: Any) -> Any:
        loaded = original(ident)
        if not racing:  # the other writer's own load is not raced
            racing.append(True)
            ledger.check_in(EXEC, quarter.key_result.id, 11, 0.4, "always first")
            racing.pop()
        return loaded

    monkeypatch.setattr(ledger, "key_result_context", always_lose)
    with pytest.raises(Conflict):
        ledger.check_in(TOM, quarter.key_result.id, 12, 0.5, "never lands")
    key_result = ledger.load(KeyResult, quarter.key_result.id, to_change=False)
    assert {c[2] for c in key_result.check_ins} == {"always first"}
