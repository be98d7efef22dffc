"""The demo's calendar and weekly check-ins: quarters relative to today, check-ins that
report their own Mondays, never after today, seeded, uneven, ending where planned."""

import itertools
from datetime import UTC, date, datetime, time, timedelta

from services.application.demo import demo_quarters
from services.application.demo_plans import CURRENT, LAST
from services.application.demo_weeks import Quarter, weekly_check_ins


def test_quarters_relative_to_today() -> None:
    q4 = Quarter.of(date(2026, 11, 18))
    assert (q4.name, q4.starts_on, q4.ends_on) == ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    q1 = Quarter.of(date(2027, 2, 28))
    assert (q1.name, q1.before().name, q1.before().ends_on) == (
        "2027-Q1",
        "2026-Q4",
        date(2026, 12, 31),
    )
    assert [q.name for q in demo_quarters(date(2026, 11, 18))] == ["2026-Q3", "2026-Q4"]
    # In a quarter's first days, the quarter just ended is still the current one.
    assert [q.name for q in demo_quarters(date(2027, 1, 5))] == ["2026-Q3", "2026-Q4"]
    assert [q.name for q in demo_quarters(date(2027, 1, 8))] == ["2026-Q4", "2027-Q1"]


def test_planning_then_a_lock_before_the_first_week_is_out_then_mondays() -> None:
    q = Quarter.of(date(2026, 8, 1))  # 2026-Q3 starts on a Wednesday
    assert [q.working_day(n) for n in range(4)] == [
        date(2026, 7, 1), date(2026, 7, 2), date(2026, 7, 3), date(2026, 7, 6),
    ]  # fmt: skip
    weeks = q.weeks()
    assert weeks[0] == date(2026, 7, 13) and weeks[-1] == date(2026, 9, 28)
    assert all(monday.weekday() == 0 for monday in weeks)


def test_check_ins_report_their_own_weeks_up_to_today() -> None:
    quarter, until = (
        Quarter.of(date(2026, 11, 18)),
        datetime.combine(date(2026, 11, 18), time.max, UTC),
    )
    for objective, kr in CURRENT.key_results():
        found = weekly_check_ins(kr, quarter, "seed", until)
        assert found == weekly_check_ins(kr, quarter, "seed", until)  # seeded
        assert found[0].value == kr.baseline  # where it starts, at planning
        assert all(c.at <= until for c in found)
        assert all(quarter.starts_on <= c.effective_on <= c.at.date() for c in found)
        assert all(c.effective_on.weekday() == 0 for c in found[1:])
        assert all(0 <= c.confidence <= 1 for c in found)
        assert found[-1].effective_on == date(2026, 11, 16), objective.key  # none missed


def test_a_closed_quarter_ends_at_its_outcome_unevenly() -> None:
    quarter = Quarter.of(date(2026, 8, 1))
    until = datetime(2027, 1, 1, tzinfo=UTC)
    uneven = 0
    for _, kr in LAST.key_results():
        found = weekly_check_ins(kr, quarter, "seed", until)
        final = kr.baseline + (kr.target - kr.baseline) * kr.outcome
        assert abs(found[-1].value - final) <= kr.step, kr.key
        assert found[-1].effective_on == quarter.weeks()[-1]
        steps = {round(b.value - a.value, 4) for a, b in itertools.pairwise(found)}
        uneven += len(steps) > 2
    assert uneven >= len(LAST.key_results()) // 2


def test_the_stale_key_result_stops_checking_in() -> None:
    quarter, until = Quarter.of(date(2026, 11, 18)), datetime(2026, 11, 18, 23, tzinfo=UTC)
    kr = next(kr for _, kr in CURRENT.key_results() if kr.key == CURRENT.stale)
    found = weekly_check_ins(kr, quarter, "seed", until, stops_after=2)
    assert found[-1].effective_on <= quarter.weeks()[1]


def test_early_on_a_monday_only_last_week_is_the_latest() -> None:
    """Before this Monday's check-ins, last week's are the latest: none is missed, so no
    key result but the stale one is silent for more than a week."""
    quarter, until = Quarter.of(date(2026, 11, 16)), datetime(2026, 11, 16, 7, tzinfo=UTC)
    for _, kr in CURRENT.key_results():
        found = weekly_check_ins(kr, quarter, "seed", until)
        assert found[-1].effective_on == date(2026, 11, 9), kr.key
        assert until - found[-1].at < timedelta(days=7)
