"""Key results' check-ins week by week, read from the audit trail's entries: the OKR state
keeps only each key result's latest check-in, while the trail keeps every one (its value
and confidence in ``changes``, the week it reports in ``effective_on``).

A week is a calendar week from Monday; a key result checked in twice for one week counts
the later one (by store position), as the owner corrected it."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from projections.entries import Entry, EntryQuery, EntryView

CHECKED_IN = "KeyResult.CheckedIn"


def week_of(day: date) -> date:
    """The Monday of the calendar week ``day`` falls in."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class WeekCheckIn:
    """The check-in a key result reported for one week."""

    week: date
    """The Monday of the week reported."""
    effective_on: date
    value: float
    confidence: float
    position: int


def _after(entry: Entry, name: str) -> float:
    change = entry["changes"].get(name)
    return float(change["after"] if isinstance(change, dict) else change)


def weekly(entries: Iterable[Entry]) -> dict[str, list[WeekCheckIn]]:
    """Key result id -> its check-ins, one per week reported, oldest week first."""
    found: dict[str, dict[date, WeekCheckIn]] = {}
    for entry in entries:
        if entry["action"] != CHECKED_IN:
            continue
        reported = date.fromisoformat(str(entry["effective_on"])[:10])
        point = WeekCheckIn(
            week_of(reported),
            reported,
            _after(entry, "value"),
            _after(entry, "confidence"),
            int(entry["position"]),
        )
        weeks = found.setdefault(entry["aggregate_id"], {})
        kept = weeks.get(point.week)
        if kept is None or kept.position < point.position:
            weeks[point.week] = point
    return {kr: [weeks[w] for w in sorted(weeks)] for kr, weeks in found.items()}


def check_in_weeks(audit: EntryView, objective_ids: Iterable[str]) -> dict[str, list[WeekCheckIn]]:
    """The weekly check-ins of every key result of these objectives (one indexed read of
    the trail per objective)."""
    entries: list[Entry] = []
    for objective_id in objective_ids:
        query = EntryQuery(objective_id=objective_id, action=CHECKED_IN)
        entries.extend(audit.pages(query))
    return weekly(entries)
