"""The OKR-state projection: survives restarts without missing or repeating an event,
rebuilds from zero to the same rows, and serves read-your-writes. Both backends."""

from datetime import date

import pytest
from quarter import EXEC, TOM, plan_quarter

from infra.config import Settings
from projections.runner import OKR_STATE
from services.application.errors import ProjectionBehind
from services.bootstrap import PROJECTIONS, Platform, build


def _run_quarter(platform: Platform, check_ins: int) -> None:
    cycle, _, key_result = plan_quarter(platform)
    for week in range(check_ins):
        platform.ledger.check_in(TOM, key_result.id, 15 - week * 0.5, 0.6, f"week {week + 1}")
    platform.ledger.lock_cycle(EXEC, cycle.id)


def test_restart_resumes_without_missing_or_repeating(settings: Settings) -> None:
    first = build(settings)
    try:
        cycle, _, key_result = plan_quarter(first)
        for week in range(5):
            first.ledger.check_in(TOM, key_result.id, 14 - week, 0.6, f"week {week + 1}")
        first.catch_up()
        half_way = first.okr_state.position()
        for week in range(5, 9):  # recorded while no projection runs
            first.ledger.check_in(TOM, key_result.id, 14 - week, 0.7, f"week {week + 1}")
    finally:
        first.close()

    restarted = build(settings)
    try:
        assert restarted.okr_state.position() == half_way
        restarted.catch_up()
        doc = restarted.okr_state.get("key_result", str(key_result.id))
        assert doc is not None
        # Nine check-ins, each applied once: a repeat would count ten or more.
        assert doc["check_in_count"] == 9
        assert doc["latest_check_in"]["note"] == "week 9"
        incremental = restarted.okr_state.dump()
        restarted.rebuild()
        assert restarted.okr_state.dump() == incremental
        assert restarted.okr_state.get("cycle", str(cycle.id)) is not None
    finally:
        restarted.close()


def test_rebuild_reproduces_identical_rows(platform: Platform) -> None:
    _run_quarter(platform, check_ins=13)
    platform.catch_up()
    before = platform.okr_state.dump()
    position = platform.okr_state.position()
    rebuilt = platform.rebuild()
    assert [(r.projection, r.events, r.position) for r in rebuilt] == [
        (p.name, position, position) for p in PROJECTIONS
    ]
    assert platform.okr_state.dump() == before
    assert rebuilt[0].documents == len(before)
    # The view built aside is gone once switched in.
    assert platform.okr_state.max_tracking_id("okr_state_rebuild") is None


def test_small_batches_give_the_same_rows_as_one_batch(platform: Platform) -> None:
    _run_quarter(platform, check_ins=6)
    platform.catch_up()
    one_batch = platform.okr_state.dump()
    follower = platform.followers["okr_state"]
    follower.view.reset()
    follower.batch_size = 1
    applied = follower.catch_up()
    assert applied == platform.ledger.recorder.max_notification_id()
    assert platform.okr_state.dump() == one_batch


def test_read_your_writes_waits_for_the_background_follower(platform: Platform) -> None:
    platform.start()
    cycle = platform.ledger.open_cycle(EXEC, "2027-Q1", date(2027, 1, 1), date(2027, 3, 31))
    platform.wrote(EXEC.user, cycle.position)
    platform.wait_for(EXEC.user, views=[OKR_STATE])
    doc = platform.okr_state.get("cycle", str(cycle.id))
    assert doc is not None and doc["name"] == "2027-Q1"


def test_read_your_writes_is_bounded(platform: Platform) -> None:
    """With no follower running (not started), a read of an unprojected write gives up."""
    platform.settings.read_wait_seconds = 0.05
    cycle = platform.ledger.open_cycle(EXEC, "2027-Q1", date(2027, 1, 1), date(2027, 3, 31))
    platform.wrote(EXEC.user, cycle.position)
    with pytest.raises(ProjectionBehind):
        platform.wait_for(EXEC.user, views=[OKR_STATE])
