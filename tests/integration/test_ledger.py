"""The ledger's behaviour, the same on SQLite and PostgreSQL: commands record events with
their provenance, rules refuse without recording, and a quarter runs to its scores."""

from uuid import uuid4

import pytest
from quarter import EXEC, TOM, plan_quarter

from events import KeyResult
from events.errors import CycleClosed, InvalidValue, NotFound
from infra.logging import correlated
from services.application.errors import Forbidden, GuardrailViolation
from services.application.principals import Principal
from services.bootstrap import Platform


def _events(platform: Platform) -> list[object]:
    recorder = platform.ledger.recorder
    notifications = recorder.select_notifications(start=1, limit=10_000)
    return [platform.ledger.mapper.to_domain_event(n) for n in notifications]


def test_a_quarter_from_planning_to_scores(platform: Platform) -> None:
    ledger = platform.ledger
    cycle, objective, key_result = plan_quarter(platform)
    ledger.check_in(TOM, key_result.id, 13, 0.6, "fund admin data late again")
    ledger.lock_cycle(EXEC, cycle.id)
    request = ledger.request_change(TOM, key_result.id, {"target": 10}, "admin migration slipped")
    ledger.approve_change(EXEC, request.id)
    ledger.check_in(TOM, key_result.id, 10, 0.9, "")
    closed = ledger.close_cycle(EXEC, cycle.id, "closed before its end date in a test")

    kr = ledger.repository.get(key_result.id)
    assert isinstance(kr, KeyResult)
    assert kr.target == 10.0 and kr.score == 1.0
    platform.catch_up()
    state = platform.okr_state
    assert state.position() == closed.position
    doc = state.get("key_result", str(key_result.id))
    assert doc is not None
    assert doc["target"] == 10.0 and doc["check_in_count"] == 2
    assert doc["score"]["value"] == 1.0 and doc["score"]["rule"] == "linear-clamped"
    objective_doc = state.get("objective", str(objective.id))
    assert objective_doc is not None and objective_doc["score"]["value"] == 1.0
    cr = state.get("change_request", str(request.id))
    assert cr is not None and (cr["status"], cr["decided_by"]) == ("applied", "priya")


def test_every_event_names_actor_and_the_command_correlation_id(platform: Platform) -> None:
    _, _, key_result = plan_quarter(platform)
    with correlated("req-42"):
        platform.ledger.check_in(TOM, key_result.id, 13, 0.6, "late")
    last = _events(platform)[-1]
    assert (last.actor, last.correlation_id) == ("tom", "req-42")  # type: ignore[attr-defined]


def test_refused_commands_record_nothing(platform: Platform) -> None:
    cycle, _, key_result = plan_quarter(platform)
    before = len(_events(platform))
    with pytest.raises(InvalidValue):
        platform.ledger.check_in(TOM, key_result.id, 13, 1.7, "")
    with pytest.raises(Forbidden):
        platform.ledger.check_in(Principal.of("ana", ["member"]), key_result.id, 13, 0.5, "")
    with pytest.raises(Forbidden):
        platform.ledger.check_in(Principal.of("marcus", ["compliance"]), key_result.id, 1, 0.5, "")
    with pytest.raises(NotFound):
        platform.ledger.check_in(TOM, uuid4(), 13, 0.5, "")
    with pytest.raises(NotFound):  # a cycle id is not a key result id
        platform.ledger.check_in(TOM, cycle.id, 13, 0.5, "")
    assert len(_events(platform)) == before
    platform.ledger.lock_cycle(EXEC, cycle.id)
    with pytest.raises(GuardrailViolation) as denied:
        platform.ledger.revise_key_result(TOM, key_result.id, {"target": 10}, "slip")
    assert [v["rule"] for v in denied.value.deny] == ["changes_after_lock"]
    platform.ledger.close_cycle(EXEC, cycle.id, "closed before its end date in a test")
    after_close = len(_events(platform))
    with pytest.raises(CycleClosed):
        platform.ledger.check_in(TOM, key_result.id, 13, 0.5, "")
    assert len(_events(platform)) == after_close
    # Recorded: the lock and its decision, the denied attempt (the only trace of the
    # refusals), the close, both scores and their decision.
    recorded = [type(e).__qualname__ for e in _events(platform)[before:]]
    assert recorded == [
        "Cycle.Locked", "Decision.Recorded", "Decision.Recorded",
        "Cycle.Closed", "KeyResult.Scored", "Objective.Scored", "Decision.Recorded",
    ]  # fmt: skip


def test_members_write_only_what_they_own(platform: Platform) -> None:
    cycle, objective, _ = plan_quarter(platform)
    ledger = platform.ledger
    with pytest.raises(Forbidden):
        ledger.create_objective(TOM, cycle.id, "Someone else's goal", "ana", "team", "committed")
    with pytest.raises(Forbidden):
        ledger.create_objective(TOM, cycle.id, "Firm-wide goal", "tom", "company", "committed")
    own = ledger.create_objective(
        TOM, cycle.id, "Faster LP reports", "tom", "team", "committed", parent_id=objective.id
    )
    with pytest.raises(Forbidden):
        ledger.revise_objective(TOM, objective.id, title="Mine now")
    ledger.revise_objective(TOM, own.id, title="Faster, cleaner LP reports")


def test_alignment_refuses_loops_and_other_cycles(platform: Platform) -> None:
    cycle, objective, _ = plan_quarter(platform)
    ledger = platform.ledger
    child = ledger.create_objective(
        EXEC, cycle.id, "Ops team", "priya", "team", "committed", parent_id=objective.id
    )
    with pytest.raises(InvalidValue):
        ledger.realign_objective(EXEC, objective.id, child.id, "loop")
    with pytest.raises(InvalidValue):
        ledger.create_objective(
            EXEC, cycle.id, "Orphan", "priya", "team", "committed", parent_id=uuid4()
        )


def test_the_compliance_role_never_writes_even_beside_other_roles(platform: Platform) -> None:
    cycle, objective, key_result = plan_quarter(platform)
    auditor = Principal.of("marcus", ["compliance", "member", "executive"])
    with pytest.raises(Forbidden):
        platform.ledger.check_in(auditor, key_result.id, 13, 0.5, "")
    with pytest.raises(Forbidden):
        platform.ledger.lock_cycle(auditor, cycle.id)
    with pytest.raises(Forbidden):
        platform.ledger.revise_objective(auditor, objective.id, title="Audited")
