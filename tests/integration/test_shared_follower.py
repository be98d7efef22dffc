"""One follower feeds every read model from one read of the store: each batch written for
all the views in one transaction, each event applied to each view exactly once even with
other followers of the same views racing it; a view stopped alone is left out and catches
up when started; a waiting read is let through by the follower's notification, also when
another follower applied the write. Both backends."""

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.utils import resolve_topic
from quarter import EXEC, TOM, plan_quarter

from projections.follower import Follower
from projections.okr_state import OkrState
from projections.runner import AUDIT, GOVERNANCE, OKR_STATE
from projections.shared import FedView, SharedFollower
from services.bootstrap import PROJECTIONS, Platform

VIEWS = (OKR_STATE, GOVERNANCE, AUDIT)


def _quarter(platform: Platform, check_ins: int = 12) -> int:
    _, _, key_result = plan_quarter(platform)
    for week in range(check_ins):
        platform.ledger.check_in(TOM, key_result.id, 15 - week * 0.5, 0.6, f"week {week + 1}")
    return platform.ledger.recorder.max_notification_id() or 0


def _rows(platform: Platform) -> dict[str, Any]:
    rows: dict[str, Any] = {name: platform.projections.view(name).dump() for name in VIEWS}
    rows["entries"] = platform.audit.dump_entries()
    rows["links"] = platform.audit.dump_links()
    return rows


def _shared(platform: Platform) -> SharedFollower:
    member = platform.followers[OKR_STATE]
    assert isinstance(member, FedView)
    return member.shared


def _another(platform: Platform, batch_size: int) -> SharedFollower:
    """A second follower of the same views, as another process has."""
    shared = _shared(platform)
    views = [(m.projection, m.view) for m in shared.members.values()]
    return SharedFollower(shared.recorder, shared.mapper, views, batch_size)


@pytest.fixture
def separately(platform: Platform) -> Iterator[dict[str, Any]]:
    """The rows each view gets from a follower of its own (the design it replaces)."""
    _quarter(platform)
    for name in VIEWS:
        follower = platform.followers[name]
        Follower(
            follower.recorder, follower.mapper, follower.projection, follower.view, 7
        ).catch_up()
    yield _rows(platform)


def test_the_views_of_the_process_share_one_follower(platform: Platform) -> None:
    shared = {id(_shared(platform))}
    assert {id(platform.followers[name].shared) for name in VIEWS} == shared  # type: ignore[attr-defined]
    assert set(_shared(platform).members) == {p.name for p in PROJECTIONS}


def test_one_batch_moves_every_view_in_one_transaction(
    platform: Platform, separately: dict[str, Any]
) -> None:
    head = platform.ledger.recorder.max_notification_id() or 0
    for name in VIEWS:
        platform.projections.view(name).reset()
    shared = _shared(platform)

    took = shared.step(list(shared.members.values()), batch_size=5)

    assert took == 5 * len(VIEWS)
    assert {name: platform.projections.view(name).position() for name in VIEWS} == dict.fromkeys(
        VIEWS, 5
    )
    assert shared.catch_up() == (head - 5) * len(VIEWS)
    assert _rows(platform) == separately


def test_a_view_behind_the_others_is_brought_level_without_repeating_theirs(
    platform: Platform, separately: dict[str, Any]
) -> None:
    head = platform.ledger.recorder.max_notification_id() or 0
    platform.projections.view(AUDIT).reset()
    assert _shared(platform).catch_up() == head  # the audit trail's events, no other view's
    assert _rows(platform) == separately


def test_followers_racing_over_the_same_views_apply_each_event_once(
    platform: Platform, separately: dict[str, Any]
) -> None:
    for name in VIEWS:
        platform.projections.view(name).reset()
    racers = [_another(platform, batch_size) for batch_size in (3, 5, 8)]
    applied: list[int] = []
    threads = [threading.Thread(target=lambda r=r: applied.append(r.catch_up())) for r in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    head = platform.ledger.recorder.max_notification_id() or 0
    assert sum(applied) == head * len(VIEWS)
    assert _rows(platform) == separately


def test_a_view_stopped_alone_is_left_out_until_started_again(platform: Platform) -> None:
    platform.settings.read_wait_seconds = 0.05
    platform.start()
    audit = platform.followers[AUDIT]
    audit.stop()
    position = _quarter(platform, check_ins=2)
    platform.wrote(TOM.user, position)

    platform.wait_for(TOM.user, views=[OKR_STATE, GOVERNANCE])
    assert platform.projections.view(AUDIT).position() < position
    audit.start(platform.settings.projection_poll_seconds)
    platform.projections.wait_for(TOM.user, 0, views=[AUDIT], timeout=5)
    assert platform.audit.count_entries() == position


def test_a_waiting_read_is_let_through_by_the_followers_notification(platform: Platform) -> None:
    platform.settings.projection_poll_seconds = 30.0  # no poll comes to the rescue
    platform.start()
    position = _quarter(platform, check_ins=1)
    started = time.monotonic()
    platform.wrote(EXEC.user, position)  # wakes the follower
    platform.projections.wait_for(EXEC.user, 0, views=[OKR_STATE], timeout=10)
    assert time.monotonic() - started < 10
    assert platform.projections.view(OKR_STATE).position() >= position


def test_a_write_applied_by_another_follower_releases_the_wait(platform: Platform) -> None:
    platform.settings.projection_poll_seconds = 30.0  # the follower sleeps until woken
    platform.start()
    before = platform.ledger.recorder.max_notification_id() or 0
    position = _quarter(platform, check_ins=1)
    # Another process's follower gets there first: this one applies nothing, and learns
    # the views' positions when the write wakes it.
    assert _another(platform, 500).catch_up() == (position - before) * len(VIEWS)
    platform.wrote(EXEC.user, position)
    platform.projections.wait_for(EXEC.user, 0, views=list(VIEWS), timeout=10)
    assert all(platform.projections.view(name).position() >= position for name in VIEWS)


class _Counting:
    """A mapper that counts the events it decodes."""

    def __init__(self, mapper: Any) -> None:
        self.mapper = mapper
        self.topics: list[str] = []

    def to_domain_event(self, notification: Any) -> Any:
        self.topics.append(notification.topic)
        return self.mapper.to_domain_event(notification)


def test_an_event_no_view_wants_is_not_decoded(
    platform: Platform, separately: dict[str, Any]
) -> None:
    shared = _shared(platform)
    counting = _Counting(shared.mapper)
    okr = platform.followers[OKR_STATE]
    alone = SharedFollower(shared.recorder, counting, [(okr.projection, okr.view)])  # type: ignore[arg-type]
    okr.view.reset()
    head = platform.ledger.recorder.max_notification_id() or 0

    assert alone.catch_up() == head  # every event taken, the decisions without decoding
    notifications = shared.recorder.select_notifications(start=1, limit=head)
    wanted = [n.topic for n in notifications if resolve_topic(n.topic) in OkrState.handlers]
    assert any(n.topic.endswith("Decision.Recorded") for n in notifications)
    assert counting.topics == wanted  # the decisions and policy events left encoded
    assert _rows(platform) == separately
