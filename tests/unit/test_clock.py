"""events.clock: a simulated time and seeded ids for this context only, and every okrgov
aggregate stamping its events and choosing its new ids from them."""

import threading
from datetime import UTC, date, datetime, timedelta, timezone
from uuid import UUID

import pytest
from okr_builders import PRIYA, TOM, definition

from events import Cycle, KeyResult, clock
from events.errors import InvalidValue
from events.values import CycleState

MOMENT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def test_outside_a_block_the_clock_is_real_and_aware() -> None:
    assert not clock.simulated()
    assert clock.now().tzinfo is not None and clock.now().utcoffset() == timedelta(0)
    assert clock.now().year >= 2026
    assert clock.new_id().version == 4
    assert clock.new_id() != clock.new_id()


def test_at_answers_the_moment_then_moves_on_a_microsecond_per_read() -> None:
    with clock.at(MOMENT) as moment:
        assert moment == MOMENT and clock.simulated()
        assert clock.today() == date(2026, 11, 20)
        assert [clock.now() for _ in range(3)] == [
            MOMENT,
            MOMENT + timedelta(microseconds=1),
            MOMENT + timedelta(microseconds=2),
        ]
        assert clock.today() == date(2026, 11, 20)  # reading the date does not move it
    assert not clock.simulated()
    assert clock.now() != MOMENT + timedelta(microseconds=3)


def test_at_keeps_an_offset_moment_as_utc_and_refuses_a_naive_one() -> None:
    tokyo = MOMENT.astimezone(timezone(timedelta(hours=9)))
    with clock.at(tokyo):
        assert clock.now() == MOMENT and clock.now().tzinfo == UTC
    with pytest.raises(ValueError, match="timezone-aware"), clock.at(datetime(2026, 11, 20)):
        pass  # pragma: no cover


def test_blocks_nest_and_other_threads_keep_the_real_clock() -> None:
    later = MOMENT + timedelta(days=7)
    seen: list[bool] = []
    with clock.at(MOMENT):
        with clock.at(later):
            assert clock.today() == later.date()
        assert clock.today() == MOMENT.date()
        thread = threading.Thread(target=lambda: seen.append(clock.simulated()))
        thread.start()
        thread.join()
    assert seen == [False]


def _ids(seed: str, count: int = 5) -> list[UUID]:
    with clock.seeded_ids(seed):
        return [clock.new_id() for _ in range(count)]


def test_seeded_ids_repeat_for_the_same_seed_only() -> None:
    first = _ids("demo 2026-12-01")
    assert first == _ids("demo 2026-12-01")
    assert len(set(first)) == len(first)
    assert all(ident.version == 4 for ident in first)
    assert set(first).isdisjoint(_ids("demo 2026-12-02"))
    assert clock.new_id() not in first  # random again after the block


def test_aggregates_are_stamped_and_named_from_the_clock() -> None:
    """Events recorded inside ``at`` carry that timestamp (one microsecond apart, in the
    order they happened); aggregates created inside ``seeded_ids`` repeat their ids."""

    def quarter() -> tuple[Cycle, KeyResult]:
        with clock.at(MOMENT), clock.seeded_ids("quarter"):
            cycle = Cycle.open("2026-Q4", date(2026, 10, 5), date(2026, 12, 31), PRIYA)
            key_result = KeyResult.add(UUID(int=1), cycle.id, definition(), PRIYA)
            cycle.lock(PRIYA)
            key_result.check_in(12, 0.6, "on track", cycle, TOM)
        return cycle, key_result

    cycle, key_result = quarter()
    again, again_key_result = quarter()
    assert (again.id, again_key_result.id) == (cycle.id, key_result.id)
    stamps = [e.timestamp for e in [*cycle.collect_events(), *key_result.collect_events()]]
    assert sorted(stamps)[0] == MOMENT
    assert len(set(stamps)) == len(stamps)
    assert max(stamps) - MOMENT < timedelta(milliseconds=1)


def test_a_check_in_reports_the_simulated_day_by_default() -> None:
    with clock.at(MOMENT):
        cycle = Cycle.open("2026-Q4", date(2026, 10, 5), date(2026, 12, 31), PRIYA)
        key_result = KeyResult.add(UUID(int=1), cycle.id, definition(), PRIYA)
        key_result.check_in(12, 0.6, "", cycle, TOM)
        key_result.check_in(11, 0.6, "", cycle, TOM, effective_on=date(2026, 11, 13))
        with pytest.raises(InvalidValue) as future:
            key_result.check_in(11, 0.6, "", cycle, TOM, effective_on=date(2026, 11, 21))
    checked = [e for e in key_result.collect_events() if isinstance(e, KeyResult.CheckedIn)]
    assert [e.effective_on for e in checked] == ["2026-11-20", "2026-11-13"]
    assert future.value.field == "effective_on" and "future" in future.value.message
    assert cycle.state == CycleState.PLANNING
