"""The projection runner over a real SQLite store in a temporary directory: a wait names
the views it needs and waits for those only; a user's writes only move their waits
forward; a rebuild switches in the derived views and leaves the leaf log alone."""

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from quarter import EXEC

from infra.config import Settings
from projections.runner import (
    AUDIT,
    GOVERNANCE,
    LEAF_LOG,
    OKR_STATE,
    ProjectionRunner,
    ViewBehind,
)
from services.application.errors import ProjectionBehind
from services.bootstrap import Platform, build, document_view

#: Long enough for a view that is there, short enough for a test that waits for one that is not.
BOUND = 0.05


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """A platform whose followers are not running: each view moves only when told to."""
    platform = build(
        Settings(data_dir=tmp_path, secret_key="test-secret-of-enough-length-for-hs256")
    )
    try:
        yield platform
    finally:
        platform.close()


@pytest.fixture
def runner(platform: Platform) -> ProjectionRunner:
    return platform.projections


def _write(platform: Platform) -> int:
    """Priya opens a cycle; the store position it was recorded at."""
    cycle = platform.ledger.open_cycle(EXEC, "2027-Q1", date(2027, 1, 1), date(2027, 3, 31))
    platform.wrote(EXEC.user, cycle.position)
    return cycle.position


def test_the_runner_follows_every_view_of_the_process(runner: ProjectionRunner) -> None:
    assert set(runner.followers) == {OKR_STATE, GOVERNANCE, AUDIT, LEAF_LOG}


def test_a_wait_names_the_views_it_needs(runner: ProjectionRunner) -> None:
    with pytest.raises(ValueError, match="name the views"):
        runner.wait_for("priya", 0, views=(), timeout=BOUND)
    with pytest.raises(KeyError, match="no view 'okr'; the views are: okr_state"):
        runner.wait_for("priya", 0, views=["okr"], timeout=BOUND)


def test_a_wait_for_the_okr_state_does_not_wait_for_the_trail_or_the_leaf_log(
    platform: Platform, runner: ProjectionRunner
) -> None:
    position = _write(platform)
    runner.followers[OKR_STATE].catch_up()  # only the OKR state has the write

    runner.wait_for(EXEC.user, 0, views=[OKR_STATE], timeout=BOUND)

    for behind in (AUDIT, LEAF_LOG, GOVERNANCE):
        with pytest.raises(ViewBehind) as held:
            runner.wait_for(EXEC.user, 0, views=[OKR_STATE, behind], timeout=BOUND)
        assert held.value.position == position
    assert str(held.value) == f"the governance view has not reached position {position}"


def test_a_wait_is_for_the_users_own_last_write_or_the_position_asked(
    platform: Platform, runner: ProjectionRunner
) -> None:
    position = _write(platform)
    # Lena wrote nothing: her read waits for nothing, though no view has Priya's write.
    runner.wait_for("lena", 0, views=[AUDIT], timeout=BOUND)
    # Unless she asks for Priya's position (X-Okrgov-Min-Position).
    with pytest.raises(ViewBehind):
        runner.wait_for("lena", position, views=[AUDIT], timeout=BOUND)
    runner.followers[AUDIT].catch_up()
    runner.wait_for("lena", position, views=[AUDIT], timeout=BOUND)


def test_a_users_last_write_only_moves_forward(runner: ProjectionRunner) -> None:
    runner.wrote("tom", 7)
    runner.wrote("tom", 3)  # an answer that came back late
    assert runner.last_write("tom") == 7
    assert runner.last_write("lena") == 0


def test_the_background_followers_bring_a_waited_view_to_the_write(
    platform: Platform, runner: ProjectionRunner
) -> None:
    platform.start()
    position = _write(platform)
    runner.wait_for(EXEC.user, 0, views=[AUDIT], timeout=5)
    assert runner.view(AUDIT).position() >= position


def test_the_platform_says_which_view_is_behind_as_projection_behind(platform: Platform) -> None:
    platform.settings.read_wait_seconds = BOUND
    position = _write(platform)
    with pytest.raises(
        ProjectionBehind, match=f"the audit view has not reached position {position}"
    ):
        platform.wait_for(EXEC.user, views=[AUDIT])


def test_a_rebuild_switches_in_the_derived_views_and_leaves_the_leaf_log(
    platform: Platform, runner: ProjectionRunner
) -> None:
    _write(platform)
    runner.catch_up()
    before = {name: runner.view(name).dump() for name in (OKR_STATE, GOVERNANCE, AUDIT)}
    leaf_position = runner.view(LEAF_LOG).position()
    told: set[str] = set()

    rebuilt = runner.rebuild(
        lambda name, entries: document_view(platform.ledger, name, entries),
        lambda name, _position: told.add(name),
    )

    assert [r.projection for r in rebuilt] == [OKR_STATE, GOVERNANCE, AUDIT]
    assert told == {OKR_STATE, GOVERNANCE, AUDIT}
    assert {name: runner.view(name).dump() for name in before} == before
    assert runner.view(LEAF_LOG).position() == leaf_position


def test_a_write_wakes_the_views_not_the_leaf_log_whose_reader_wakes_it(
    platform: Platform, runner: ProjectionRunner
) -> None:
    """A write's answer never reads the leaf log, so a write does not make it take a write
    transaction of its own; its next reader waits for it, and that wakes it."""
    poll = 30.0  # no follower moves on its own poll within the test
    runner.start(poll)
    try:
        position = _write(platform)
        runner.wait_for(EXEC.user, position, views=[OKR_STATE], timeout=5)
        time.sleep(0.5)  # time enough for a woken follower to apply one event
        assert runner.view(LEAF_LOG).position() < position  # not woken by the write
        runner.wait_for(EXEC.user, position, views=[LEAF_LOG], timeout=5)
        assert runner.view(LEAF_LOG).position() >= position
    finally:
        runner.stop()
