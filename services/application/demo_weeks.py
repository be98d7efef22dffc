"""The demo's calendar and its weekly check-ins: where a quarter's planning, lock and
Monday check-ins fall relative to today, and what each owner reports each week.

Everything is drawn from ``random.Random`` seeded by the demo's seed, the quarter and the
key result, so the same demo on the same day reports the same numbers, confidences and
notes. Values wander towards the key result's ``outcome`` (some weeks backwards), a
milestone is met late in the quarter or not yet, confidence drifts towards what the owner
will end up with and moves both ways, an owner misses a week now and then, and notes are
the key result's own, a remark on the week's movement, or nothing."""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from events.values import Direction
from services.application.demo_plans import PlannedKeyResult

#: A check-in is missed this often (never in the quarter's last week nor the latest one).
MISSED = 0.07
#: A check-in is recorded on Tuesday or Wednesday, reporting Monday's week, this often.
LATE = 0.12


@dataclass(frozen=True)
class Quarter:
    """A calendar quarter as the demo lives it: planned in its first working days, locked
    before its first week is out, checked in on each Monday after that."""

    name: str
    starts_on: date
    ends_on: date

    @classmethod
    def of(cls, day: date) -> "Quarter":
        index = (day.month - 1) // 3
        starts_on = date(day.year, 3 * index + 1, 1)
        return cls(f"{day.year}-Q{index + 1}", starts_on, _quarter_end(starts_on))

    def before(self) -> "Quarter":
        return Quarter.of(self.starts_on - timedelta(days=1))

    def working_day(self, n: int) -> date:
        """The ``n``-th working day (0: the first) of the quarter."""
        day = self.starts_on
        while day.weekday() >= 5:
            day += timedelta(days=1)
        for _ in range(n):
            day += timedelta(days=1)
            while day.weekday() >= 5:
                day += timedelta(days=1)
        return day

    def lock_day(self) -> date:
        return self.working_day(3)

    def weeks(self) -> list[date]:
        """The Mondays after lock, up to the quarter's end: the weeks checked in on."""
        lock = self.lock_day()
        monday = lock + timedelta(days=7 - lock.weekday())
        mondays = []
        while monday <= self.ends_on:
            mondays.append(monday)
            monday += timedelta(days=7)
        return mondays


def _quarter_end(starts_on: date) -> date:
    year, month = (starts_on.year, starts_on.month + 3)
    if month > 12:
        year, month = year + 1, month - 12
    return date(year, month, 1) - timedelta(days=1)


def moment(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


@dataclass(frozen=True)
class CheckIn:
    at: datetime
    effective_on: date
    value: float
    confidence: float
    note: str


def weekly_check_ins(
    kr: PlannedKeyResult,
    quarter: Quarter,
    seed: str,
    until: datetime,
    stops_after: int | None = None,
) -> list[CheckIn]:
    """The key result's check-ins recorded by ``until``: one at planning (its baseline
    and first confidence, before lock), then one a week, some missed; none after the
    ``stops_after``-th week (the stale one). The latest two weeks due are never missed
    and the latest is never late (its Monday may not be over yet), so only the stale key
    result goes silent for more than a week."""
    rng = random.Random(f"{seed}/{quarter.name}/{kr.key}/weeks")
    weeks = quarter.weeks()
    latest = sum(monday <= until.date() for monday in weeks)
    progress = _progress(rng, len(weeks), kr.outcome)
    met = len(weeks) - rng.randint(1, 4) if kr.outcome >= 1 else len(weeks) + 1
    first = kr.confidence if kr.confidence is not None else round(rng.uniform(0.55, 0.8), 2)
    goal = min(0.95, max(0.15, 1.25 * kr.outcome - 0.3))
    if kr.confidence is not None:
        goal = kr.confidence
    notes = Notes(rng, kr)
    planning = quarter.working_day(2)
    at_planning = moment(planning, 15) + timedelta(seconds=rng.randint(0, 90 * 60))
    reports = max(_monday(planning), quarter.starts_on)
    found = [CheckIn(at_planning, reports, kr.baseline, first, notes.planning())]
    confidence, value, missed = first, kr.baseline, False
    for week, monday in enumerate(weeks, start=1):
        if stops_after is not None and week > stops_after:
            break
        last_weeks = week >= min(len(weeks) - 1, latest - 1)
        if not last_weeks and rng.random() < MISSED and not missed:
            missed = True
            continue
        if kr.direction == Direction.MILESTONE:
            new_value = kr.target if week >= met else kr.baseline
        else:
            new_value = _rounded(kr.baseline + (kr.target - kr.baseline) * progress[week], kr.step)
        drift = 0.25 * (goal - confidence) + rng.gauss(0, 0.05)
        confidence = round(min(0.97, max(0.05, confidence + drift)), 2)
        if kr.direction == Direction.MILESTONE and week >= met:
            confidence = 1.0
        note = notes.weekly(value, new_value, week == len(weeks), missed)
        when = _when(rng, monday, late=week < latest)
        found.append(CheckIn(when, monday, new_value, confidence, note))
        value, missed = new_value, False
    return [check_in for check_in in found if check_in.at <= until]


def _progress(rng: random.Random, weeks: int, outcome: float) -> list[float]:
    """Share of the way from baseline to target after each week (index 0: none), reaching
    ``outcome`` in the last week: mostly forward, unevenly, sometimes back."""
    steps = []
    for _ in range(weeks):
        if rng.random() < 0.15:
            steps.append(-rng.uniform(0.2, 0.7))
        else:
            steps.append(max(0.0, rng.gauss(1.0, 0.7)))
    total = sum(steps) or 1.0
    reached, shares = 0.0, [0.0]
    for step in steps:
        reached += step
        shares.append(max(0.0, outcome * reached / total))
    return shares


def _rounded(value: float, step: float) -> float:
    return round(round(value / step) * step, 4)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _when(rng: random.Random, monday: date, late: bool) -> datetime:
    """A Monday morning, or (``late`` allowed) a check-in on Tuesday or Wednesday."""
    later = rng.random() < LATE and late
    day = monday + timedelta(days=rng.choice((1, 1, 2))) if later else monday
    return moment(day, 8, 0) + timedelta(minutes=rng.randint(0, 170), seconds=rng.randint(0, 59))


def number(value: float) -> str:
    return f"{value:g}"


class Notes:
    """What an owner writes: the key result's own notes (each once), a remark on the
    week's movement, or nothing."""

    def __init__(self, rng: random.Random, kr: PlannedKeyResult) -> None:
        self.rng = rng
        self.kr = kr
        self.unused = list(kr.notes)
        rng.shuffle(self.unused)

    def planning(self) -> str:
        return self.rng.choice(PLANNING)

    def weekly(self, before: float, after: float, final: bool, after_missed: bool) -> str:
        rng = self.rng
        if final:
            text = rng.choice(FINAL).format(value=number(after), unit=self.kr.unit)
        elif self.unused and rng.random() < 0.55:
            text = self.unused.pop()
        elif rng.random() < 0.75:
            text = self._movement(before, after)
        else:
            text = ""
        if after_missed:
            text = f"{rng.choice(CATCHING_UP)} {text}".strip()
        return text

    def _movement(self, before: float, after: float) -> str:
        better = after > before if self.kr.direction != Direction.DECREASE else after < before
        remarks = SAME if after == before else BETTER if better else WORSE
        return self.rng.choice(remarks).format(
            before=number(before), value=number(after), unit=self.kr.unit
        )


PLANNING = (
    "Baseline for the quarter; plan agreed with the team.",
    "Starting point. The plan is in the team's tracker.",
    "Where we start. Confidence reflects what we know today.",
    "Baseline confirmed against last quarter's numbers.",
)
BETTER = (
    "Up to {value} {unit} from {before}.",
    "Good week: {value} {unit}.",
    "Moving the right way, {value} {unit} now.",
    "Better than last week ({before} to {value}).",
    "Progress, slower than I'd like.",
)
WORSE = (
    "Slipped back to {value} {unit}; looking into why.",
    "Worse this week ({before} to {value}); one-off, we think.",
    "Went backwards. Discussed at the team meeting.",
)
SAME = (
    "No change this week.",
    "Flat at {value} {unit}.",
    "Nothing moved; waiting on others.",
)
FINAL = (
    "Final figure for the quarter: {value} {unit}.",
    "Quarter end: {value} {unit}.",
    "Closing number, {value} {unit}. Lessons noted for next quarter.",
)
CATCHING_UP = (
    "Missed last week's update.",
    "Back from leave.",
    "Catching up after last week.",
)
