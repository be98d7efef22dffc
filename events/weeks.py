"""The week a check-in reports (its ``effective_on``): the rules that keep it real."""

from datetime import date

from events import clock
from events.errors import InvalidValue


def week_reported(effective_on: date | None, cycle: str, starts_on: date, ends_on: date) -> date:
    """The date a check-in reports: ``effective_on`` if given, which may not be later
    than today (``events.clock.today()``) nor outside the cycle; if not given, today, or
    the cycle's last day when the cycle has ended but is not yet closed (a late check-in
    reports the last week). Before the cycle starts there is no week to report."""
    today = clock.today()
    if effective_on is None:
        if today < starts_on:
            raise InvalidValue(
                f"cycle {cycle} starts on {starts_on.isoformat()}: a check-in reports a"
                f" week of the cycle, so check in from then",
                field="effective_on",
            )
        return min(today, ends_on)
    if effective_on > today:
        raise InvalidValue(
            f"effective_on {effective_on.isoformat()} is in the future (today is"
            f" {today.isoformat()}): a check-in reports a week that has begun",
            field="effective_on",
        )
    if not starts_on <= effective_on <= ends_on:
        raise InvalidValue(
            f"effective_on {effective_on.isoformat()} is outside cycle {cycle}"
            f" ({starts_on.isoformat()} to {ends_on.isoformat()}): a check-in reports"
            f" a week of its cycle",
            field="effective_on",
        )
    return effective_on
