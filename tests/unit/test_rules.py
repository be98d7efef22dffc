"""The domain's invariants, each with its named error, and the provenance of events."""

from collections.abc import Callable
from datetime import date

import pytest
from okr_builders import PRIYA, TOM, definition

from events import ChangeRequest, Cycle, CycleState, KeyResult, Objective
from events.errors import (
    AlreadyRetired,
    ChangeNeedsApproval,
    CycleClosed,
    CycleLocked,
    InvalidTransition,
    InvalidValue,
    NotMeasurable,
    ReasonRequired,
    SelfApproval,
)
from events.values import ChangeKind, TargetKind


def test_every_event_carries_actor_correlation_id_and_reason(key_result: KeyResult) -> None:
    key_result.revise({"target": 9}, "fund admin slipped", "planning", TOM)  # type: ignore[arg-type]
    added, revised = key_result.collect_events()
    assert (added.actor, added.correlation_id, added.reason) == ("priya", "c-1", None)
    assert (revised.actor, revised.correlation_id, revised.reason) == (
        "tom",
        "c-2",
        "fund admin slipped",
    )
    assert revised.changes == {"target": 9.0} and revised.previous == {"target": 8.0}


def test_cycle_must_end_after_it_starts() -> None:
    with pytest.raises(InvalidValue) as err:
        Cycle.open("Q", date(2026, 10, 1), date(2026, 10, 1), PRIYA)
    assert err.value.field == "ends_on"


def test_cycle_lifecycle_is_planning_locked_closed(cycle: Cycle) -> None:
    with pytest.raises(InvalidTransition):
        cycle.close(PRIYA)
    cycle.lock(PRIYA)
    with pytest.raises(InvalidTransition):
        cycle.lock(PRIYA)
    with pytest.raises(CycleLocked):
        cycle.register_objective(cycle.id, PRIYA)
    cycle.close(PRIYA, "closed before its end date in a test")
    assert cycle.state == "closed"


@pytest.mark.parametrize("confidence", [-0.01, 1.01, 1.7])
def test_confidence_outside_zero_to_one_is_refused(
    cycle: Cycle, key_result: KeyResult, confidence: float
) -> None:
    cycle.lock(PRIYA)
    with pytest.raises(InvalidValue) as err:
        key_result.check_in(13, confidence, "", cycle, TOM)
    assert err.value.field == "confidence"
    assert key_result.check_ins == []


def test_no_check_in_on_a_closed_cycle(cycle: Cycle, key_result: KeyResult) -> None:
    cycle.lock(PRIYA)
    cycle.close(PRIYA, "closed for the test")
    with pytest.raises(CycleClosed):
        key_result.check_in(13, 0.5, "", cycle, TOM)


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"target": 15}, NotMeasurable),
        ({"direction": "increase"}, NotMeasurable),
        ({"baseline": 1, "target": 5, "direction": "decrease"}, NotMeasurable),
        ({"unit": "  "}, InvalidValue),
        ({"risk_rating": 6}, InvalidValue),
    ],
)
def test_key_result_must_be_measurable(
    cycle: Cycle, objective: Objective, overrides: dict[str, object], rule: type[Exception]
) -> None:
    with pytest.raises(rule):
        KeyResult.add(objective.id, cycle.id, definition(**overrides), PRIYA)


def test_no_direct_revision_after_lock(key_result: KeyResult) -> None:
    with pytest.raises(ChangeNeedsApproval):
        key_result.revise({"target": 10}, "slip", "locked", TOM)  # type: ignore[arg-type]
    with pytest.raises(ChangeNeedsApproval):
        key_result.retire("slip", "locked", TOM)  # type: ignore[arg-type]


def test_post_lock_revision_needs_an_approved_request_for_this_key_result(
    key_result: KeyResult,
) -> None:
    request = ChangeRequest.request(key_result.id, {"target": 10}, False, "slip", TOM)
    with pytest.raises(ChangeNeedsApproval):  # still pending
        key_result.revise(request.changes, "slip", "locked", TOM, request)  # type: ignore[arg-type]
    request.approve(PRIYA)
    key_result.revise(request.changes, "slip", "locked", PRIYA, request)  # type: ignore[arg-type]
    assert key_result.target == 10.0
    other = ChangeRequest.request(request.id, {"target": 9}, False, "wrong target", TOM)
    other.approve(PRIYA)
    with pytest.raises(ChangeNeedsApproval):
        key_result.revise(other.changes, "x", "locked", PRIYA, other)  # type: ignore[arg-type]


def test_an_approver_is_never_the_requester(key_result: KeyResult) -> None:
    request = ChangeRequest.request(key_result.id, {"target": 10}, False, "slip", TOM)
    with pytest.raises(SelfApproval):
        request.approve(TOM)
    with pytest.raises(SelfApproval):
        request.reject(TOM)
    request.reject(PRIYA, "keep the target")
    with pytest.raises(InvalidTransition):
        request.approve(PRIYA)


def test_a_change_request_needs_a_reason(key_result: KeyResult) -> None:
    with pytest.raises(InvalidValue) as err:
        ChangeRequest.request(key_result.id, {"target": 10}, False, " ", TOM)
    assert err.value.field == "reason"


def test_reowning_realigning_and_retiring_need_a_reason(objective: Objective) -> None:
    with pytest.raises(ReasonRequired):
        objective.reown("ana", None, PRIYA, CycleState.PLANNING)
    with pytest.raises(ReasonRequired):
        objective.retire("", PRIYA, CycleState.PLANNING)
    objective.retire("merged into the firm objective", PRIYA, CycleState.PLANNING)
    with pytest.raises(AlreadyRetired):
        objective.revise("New title", None, None, PRIYA, CycleState.PLANNING)


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o.revise("A new title for the firm", None, None, PRIYA, CycleState.LOCKED),
        lambda o: o.reown("tom", "handed over", PRIYA, CycleState.LOCKED),
        lambda o: o.realign(None, "moved up", PRIYA, CycleState.LOCKED),
        lambda o: o.retire("dropped", PRIYA, CycleState.LOCKED),
    ],
)
def test_no_direct_objective_change_after_lock(
    objective: Objective, change: Callable[[Objective], None]
) -> None:
    with pytest.raises(ChangeNeedsApproval):
        change(objective)
    assert objective.collect_events()[1:] == []  # nothing but its creation


def test_post_lock_objective_change_needs_an_approved_request_for_it(
    cycle: Cycle, objective: Objective
) -> None:
    request = ChangeRequest.about(
        ChangeKind.REVISE, TargetKind.OBJECTIVE, objective.id,
        {"owner": "Tom", "level": "function"}, "reorganised", TOM,
        objective_id=objective.id, cycle_id=cycle.id,
    )  # fmt: skip
    with pytest.raises(ChangeNeedsApproval):  # pending
        objective.amend(request.changes, PRIYA, CycleState.LOCKED, request)
    request.approve(PRIYA)
    with pytest.raises(ChangeNeedsApproval):  # approved, but for a revision, not retirement
        objective.retire("x", PRIYA, CycleState.LOCKED, request)
    objective.amend(request.changes, PRIYA, CycleState.LOCKED, request)
    assert (objective.owner, objective.level) == ("tom", "function")
    amended = objective.collect_events()[-1]
    assert amended.changes == {"owner": "tom", "level": "function"}
    assert amended.previous == {"owner": "priya", "level": "company"}
    assert amended.change_request_id == request.id
    other = Objective.create(cycle.id, "Other aim", "", "tom", "team", "committed", None, TOM)
    with pytest.raises(ChangeNeedsApproval):  # approved for another objective
        other.amend(request.changes, PRIYA, CycleState.LOCKED, request)


def test_adding_after_lock_needs_an_approved_request_to_add_it(
    cycle: Cycle, objective: Objective
) -> None:
    cycle.lock(PRIYA)
    with pytest.raises(CycleLocked):
        KeyResult.add(objective.id, cycle.id, definition(), PRIYA, CycleState.LOCKED)
    add_kr = ChangeRequest.about(
        ChangeKind.ADD_KEY_RESULT, TargetKind.OBJECTIVE, objective.id, definition(), "gap",
        TOM, objective_id=objective.id, cycle_id=cycle.id,
    )  # fmt: skip
    add_kr.approve(PRIYA)
    added = KeyResult.add(objective.id, cycle.id, definition(), PRIYA, CycleState.LOCKED, add_kr)
    assert added.collect_events()[0].change_request_id == add_kr.id
    with pytest.raises(CycleLocked):
        cycle.register_objective(objective.id, PRIYA)
    with pytest.raises(ChangeNeedsApproval):  # a request to add a key result adds no objective
        cycle.register_objective(objective.id, PRIYA, add_kr)
    add_objective = ChangeRequest.about(
        ChangeKind.ADD_OBJECTIVE, TargetKind.CYCLE, cycle.id, {"title": "t"}, "new", TOM,
        objective_id=None, cycle_id=cycle.id,
    )  # fmt: skip
    add_objective.approve(PRIYA)
    cycle.register_objective(objective.id, PRIYA, add_objective)


def test_a_request_asks_for_what_its_target_can_take(cycle: Cycle) -> None:
    with pytest.raises(InvalidValue):
        ChangeRequest.about(
            ChangeKind.ADD_OBJECTIVE, TargetKind.OBJECTIVE, cycle.id, {"title": "t"}, "r", TOM,
            objective_id=None, cycle_id=cycle.id,
        )  # fmt: skip
    with pytest.raises(InvalidValue):
        ChangeRequest.about(
            ChangeKind.RETIRE, TargetKind.OBJECTIVE, cycle.id, {"title": "t"}, "r", TOM,
            objective_id=None, cycle_id=cycle.id,
        )  # fmt: skip


def test_scores_are_recorded_with_rule_name_and_version(
    cycle: Cycle, objective: Objective, key_result: KeyResult
) -> None:
    key_result.check_in(13, 0.6, "late", cycle, TOM)
    score = key_result.record_score(PRIYA)
    objective.record_score({str(key_result.id): score}, PRIYA)
    kr_scored = key_result.collect_events()[-1]
    obj_scored = objective.collect_events()[-1]
    assert (kr_scored.score, kr_scored.rule, kr_scored.rule_version) == (
        0.2857,
        "linear-clamped",
        1,
    )
    assert (obj_scored.score, obj_scored.rule) == (0.2857, "mean-of-key-results")


def test_a_key_result_never_checked_in_scores_zero(key_result: KeyResult) -> None:
    assert key_result.record_score(PRIYA) == 0.0


def test_aggregates_replay_to_the_same_state(cycle: Cycle, key_result: KeyResult) -> None:
    key_result.check_in(13, 0.6, "late", cycle, TOM)
    events = key_result.collect_events()
    replayed = None
    for event in events:
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert replayed.__dict__ == key_result.__dict__
