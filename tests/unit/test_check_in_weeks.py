"""A key result's check-ins week by week, from audit entries: one per week reported (the
later recording wins), the week a check-in reports rather than the day it was recorded."""

from __future__ import annotations

from datetime import date

from projections.check_in_weeks import weekly


def _entry(position: int, kr: str, effective_on: str, value: float, confidence: float) -> dict:
    return {
        "position": position,
        "action": "KeyResult.CheckedIn",
        "aggregate_id": kr,
        "effective_on": effective_on,
        "changes": {
            "value": {"before": None, "after": value},
            "confidence": {"before": None, "after": confidence},
        },
    }


def test_one_check_in_per_week_reported_in_week_order() -> None:
    entries = [
        _entry(10, "a", "2026-11-23", 13, 0.6),  # a Monday
        _entry(11, "a", "2026-11-18", 14, 0.7),  # recorded later, reports the week before
        _entry(12, "a", "2026-11-25", 12, 0.5),  # the same week as 10, recorded later: kept
        _entry(13, "b", "2026-11-30", 1, 0.9),
        {**_entry(14, "a", "2026-11-30", 0, 0), "action": "KeyResult.Revised"},
    ]
    found = weekly(entries)
    assert [(p.week, p.value, p.confidence) for p in found["a"]] == [
        (date(2026, 11, 16), 14.0, 0.7),
        (date(2026, 11, 23), 12.0, 0.5),
    ]
    assert [p.effective_on for p in found["b"]] == [date(2026, 11, 30)]
