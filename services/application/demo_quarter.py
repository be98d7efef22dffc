"""One quarter of the demo as steps: Priya opens the cycle on its first working day; the
company objectives follow that afternoon and the teams' the next day, each with its key
results; owners record where they start on the third day; Priya locks the cycle on the
fourth; owners check in each Monday (some late, some weeks missed, one owner silent for
weeks); the last quarter is closed and scored on the next quarter's first morning and
sealed by the CFO before noon."""

from collections.abc import Callable
from datetime import datetime, timedelta

from events.values import Level
from services.application.demo_people import BY_ID
from services.application.demo_plans import PlannedKeyResult, PlannedObjective, QuarterPlan
from services.application.demo_steps import DemoRun
from services.application.demo_weeks import CheckIn, Quarter, moment, weekly_check_ins

#: Who opens, locks and closes cycles, and who seals them.
COO, CFO = "priya", "helen"
#: The stale key result's owner stops checking in this many weeks before the latest.
STALE_WEEKS = 4


def step(
    run: DemoRun, quarter: Quarter, when: datetime, label: str, action: Callable[[], None]
) -> None:
    """Add a step of this quarter: its label is prefixed with the quarter's name, and
    progress is told the quarter's phase when it runs ("2026-Q3: week 4")."""
    run.add(when, f"{quarter.name}/{label}", phase(quarter, when), action)


def phase(quarter: Quarter, when: datetime) -> str:
    day = when.date()
    if day > quarter.ends_on:
        return f"{quarter.name}: close and seal"
    week = sum(monday <= day for monday in quarter.weeks())
    return f"{quarter.name}: " + (f"week {week + 1}" if week else "planning and lock")


def cycle_key(quarter: Quarter) -> str:
    return f"{quarter.name}/cycle"


def open_and_plan(run: DemoRun, quarter: Quarter, plan: QuarterPlan) -> None:
    """The cycle, its objectives and their key results, their check-ins, and the lock."""
    q, ledger = quarter.name, run.ledger

    def open_cycle() -> None:
        recorded = ledger.open_cycle(run.who(COO), q, quarter.starts_on, quarter.ends_on)
        run.ids[cycle_key(quarter)] = run.done(recorded)

    step(run, quarter, moment(quarter.working_day(0), 14), "open", open_cycle)
    company = [o for o in plan.objectives if o.level == Level.COMPANY]
    teams = [o for o in plan.objectives if o.level != Level.COMPANY]
    for n, objective in enumerate(company):
        when = moment(quarter.working_day(0), 14, 30) + timedelta(minutes=40 * n)
        _objective(run, quarter, plan, objective, when)
    for n, objective in enumerate(teams):
        when = moment(quarter.working_day(1), 9) + timedelta(minutes=45 * n)
        _objective(run, quarter, plan, objective, when)

    def lock() -> None:
        run.done(ledger.lock_cycle(run.who(COO), run.ids[cycle_key(quarter)]))

    step(run, quarter, moment(quarter.lock_day(), 16), "lock", lock)


def close_and_seal(run: DemoRun, quarter: Quarter, next_quarter: Quarter) -> None:
    """Close and score the quarter on the next one's first morning; seal it before noon."""
    ledger, first = run.ledger, next_quarter.working_day(0)

    def close() -> None:
        run.done(ledger.close_cycle(run.who(COO), run.ids[cycle_key(quarter)]))

    def seal() -> None:
        run.done(ledger.seal_cycle(run.who(CFO), run.ids[cycle_key(quarter)]))
        run.sealed.append(run.ids[cycle_key(quarter)])

    step(run, quarter, moment(first, 9, 30), "close", close)
    step(run, quarter, moment(first, 11), "seal", seal)


def _objective(
    run: DemoRun,
    quarter: Quarter,
    plan: QuarterPlan,
    objective: PlannedObjective,
    when: datetime,
) -> None:
    q = quarter.name

    def create() -> None:
        parent = run.ids[f"{q}/{objective.parent}"] if objective.parent else None
        recorded = run.ledger.create_objective(
            run.who(objective.owner), run.ids[cycle_key(quarter)], objective.title,
            objective.owner, objective.level, objective.commitment,
            description=objective.description, parent_id=parent,
        )  # fmt: skip
        run.ids[f"{q}/{objective.key}"] = run.done(recorded)

    step(run, quarter, when, f"objective/{objective.key}", create)
    for n, kr in enumerate(objective.key_results, start=1):
        add_key_result(run, quarter, plan, objective, kr, when + timedelta(minutes=4 * n))


def add_key_result(
    run: DemoRun,
    quarter: Quarter,
    plan: QuarterPlan,
    objective: PlannedObjective,
    kr: PlannedKeyResult,
    when: datetime,
) -> None:
    """A step that adds the key result (by its objective's owner) unless an earlier
    attempt already did, and its check-ins."""
    q = quarter.name

    def add() -> None:
        if f"{q}/{kr.key}" in run.ids:
            return  # an attempt the guardrails allowed (a store whose policy differs)
        recorded = run.ledger.add_key_result(
            run.who(objective.owner), run.ids[f"{q}/{objective.key}"], kr.definition()
        )
        run.ids[f"{q}/{kr.key}"] = run.done(recorded)

    step(run, quarter, when, f"key-result/{kr.key}", add)
    _check_ins(run, quarter, plan, objective, kr)


def _check_ins(
    run: DemoRun,
    quarter: Quarter,
    plan: QuarterPlan,
    objective: PlannedObjective,
    kr: PlannedKeyResult,
) -> None:
    stops_after = None
    if kr.key == plan.stale:
        latest = sum(monday <= run.until.date() for monday in quarter.weeks())
        stops_after = max(0, latest - STALE_WEEKS)
    # Members and executives check in on what they own; anyone else's objective owner does.
    writes = BY_ID[kr.owner].role in ("member", "executive")
    owner = kr.owner if writes else objective.owner
    found = weekly_check_ins(kr, quarter, run.seed, run.until, stops_after)
    for n, check_in in enumerate(found):
        action = _check_in(run, quarter.name, kr, owner, check_in)
        step(run, quarter, check_in.at, f"check-in/{kr.key}/{n}", action)


def _check_in(
    run: DemoRun, q: str, kr: PlannedKeyResult, owner: str, check_in: CheckIn
) -> Callable[[], None]:
    def record() -> None:
        key_result = run.ids.get(f"{q}/{kr.key}")
        if key_result is None:
            return  # not added (its objective's planning was refused)
        recorded = run.ledger.check_in(
            run.who(owner), key_result, check_in.value, check_in.confidence, check_in.note,
            effective_on=check_in.effective_on,
        )  # fmt: skip
        run.done(recorded, "check_ins")

    return record
