"""The demo: a thirty-person fund manager (``demo_people``) on okrgov for two quarters,
placed relative to today. The last quarter is planned, locked, checked in on for thirteen
weeks, closed, scored and sealed; the current one is planned, locked and checked in on up
to this week. Along the way the guardrails refuse and warn, change requests are approved
and rejected, and a risk officer changes the guardrails with a second one's approval
(``demo_governance``). What each quarter holds is ``demo_plans``; the weeks and their
noise ``demo_weeks``.

Its first step records the roster in the people directory (``demo_roster``), where the
guardrails read job roles and pages read names. Every step goes through the ledger's
commands as a person of the firm at its own simulated moment (``demo_steps``), so the
history is what real use would record, spread over the weeks it describes; and it is
seeded, so the same demo (the same seed, the same today) records the same ids, values and
notes, and seals the same snapshot digest.

A quarter whose cycle name the store already has is not loaded: the demo never adds a
second cycle of a name (names are unique), nor replaces one."""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from events import Cycle, clock
from events.cycle_name import compared, reservation_id
from services.application.demo_governance import current_quarter, last_quarter
from services.application.demo_people import FIRM_NAME, PEOPLE
from services.application.demo_plans import CURRENT, LAST
from services.application.demo_quarter import close_and_seal, cycle_key, open_and_plan
from services.application.demo_roster import provision_roster
from services.application.demo_steps import DemoRun, Progress
from services.application.demo_weeks import Quarter
from services.application.ledger import Ledger

DEMO_SEED = "okrgov-demo"


@dataclass(frozen=True)
class DemoSummary:
    """What one load of the demo recorded."""

    firm: str
    people: int
    loaded: tuple[str, ...]
    """The cycles loaded, by name (the last quarter first)."""
    skipped: tuple[str, ...]
    """The demo's cycles the store already had, so not loaded again."""
    cycle_ids: dict[str, UUID] = field(default_factory=dict)
    check_ins: int = 0
    denied: int = 0
    warned: int = 0
    """Commands recorded with a guardrail warning (denied ones included)."""
    approved: int = 0
    rejected: int = 0
    policy_versions: int = 0
    """Guardrail versions proposed and approved by the demo."""
    sealed: tuple[tuple[str, str], ...] = ()
    """(cycle name, sealed snapshot digest) of each cycle the demo sealed."""
    events: int = 0
    """Events recorded (the store's positions the load took)."""
    notes: tuple[str, ...] = ()
    """What else happened (the what-if's findings...)."""

    def lines(self) -> list[str]:
        """The summary as a person reads it."""
        if not self.loaded:
            return [f"nothing loaded: the store already has {_names(self.skipped)}"]
        found = [
            f"{self.firm}: {self.people} people",
            f"cycles loaded: {_names(self.loaded)}"
            + (
                f" (already there, left as they are: {_names(self.skipped)})"
                if self.skipped
                else ""
            ),
            f"check-ins: {self.check_ins}",
            f"guardrail decisions: {self.denied} denied, {self.warned} with warnings",
            f"change requests: {self.approved} approved, {self.rejected} rejected",
            f"policy versions approved: {self.policy_versions}",
        ]
        found += [f"sealed {name}: snapshot digest {digest}" for name, digest in self.sealed]
        found += list(self.notes)
        found.append(f"events recorded: {self.events}")
        return found


def _names(names: Collection[str]) -> str:
    return ", ".join(names) if names else "none"


def _taken(ledger: Ledger, name: str, skip: Collection[str]) -> bool:
    """The store has a cycle of this name (as cycle names compare): among ``skip``, or
    reserved in the store."""
    if compared(name) in {compared(other) for other in skip}:
        return True
    try:
        ledger.repository.get(reservation_id(name))
    except AggregateNotFoundError:
        return False
    return True


def demo_quarters(today: date) -> tuple[Quarter, Quarter]:
    """The last quarter and the current one. The current one is the quarter a week ago
    was in, so in the first days of a quarter the one just ended is still "current":
    locked, checked in on to its end, not yet closed, as a firm would have it then."""
    current = Quarter.of(today - timedelta(days=7))
    return current.before(), current


def load_demo(
    ledger: Ledger,
    progress: Progress | None = None,
    *,
    today: date | None = None,
    seed: str = DEMO_SEED,
    skip: Collection[str] = (),
) -> DemoSummary:
    """Record the demo through the ledger, up to ``today`` (default: the clock's; a given
    day ends at its last moment, or now if that is sooner). ``skip``: cycle names the
    store has; a quarter of one of them is not loaded. ``progress`` is told each phase
    ("2026-Q3: week 4 check-ins") as it starts."""
    until = clock.now()
    if today is not None:
        until = min(until, datetime.combine(today, time.max, UTC))
    last, current = demo_quarters(until.date())
    taken = {q.name for q in (last, current) if _taken(ledger, q.name, skip)}
    run = DemoRun(ledger, seed, until, progress)
    loaded = []
    first_loaded = next((q for q in (last, current) if q.name not in taken), None)
    if first_loaded is not None:
        provision_roster(run, first_loaded)
    if last.name not in taken:
        open_and_plan(run, last, LAST)
        last_quarter(run, last)
        close_and_seal(run, last, current)
        loaded.append(last)
    if current.name not in taken:
        open_and_plan(run, current, CURRENT)
        current_quarter(run, current)
        loaded.append(current)
    first = ledger.recorder.max_notification_id() or 0
    run.run()
    sealed = []
    for cycle_id in run.sealed:
        cycle = ledger.load(Cycle, cycle_id, to_change=False)
        sealed.append((cycle.name, cycle.sealed_digest or ""))
    counts = run.counts
    return DemoSummary(
        firm=FIRM_NAME,
        people=len(PEOPLE),
        loaded=tuple(q.name for q in loaded),
        skipped=tuple(q.name for q in (last, current) if q.name in taken),
        cycle_ids={q.name: run.ids[cycle_key(q)] for q in loaded},
        check_ins=counts["check_ins"],
        denied=counts["denied"],
        warned=counts["warned"],
        approved=counts["approved"],
        rejected=counts["rejected"],
        policy_versions=counts["policy_versions"],
        sealed=tuple(sealed),
        events=(ledger.recorder.max_notification_id() or 0) - first,
        notes=tuple(run.notes),
    )
