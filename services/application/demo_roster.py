"""The demo's first step: its thirty people recorded in the people directory, as an HR
system provisions a firm's staff before anyone plans anything. From then on the directory
is where their names and job roles are read (the conduct rule's job roles among them):
names are resolved from it, never copied into what is recorded.

The step runs at nine on the first day of the first quarter the demo loads (before the
cycle is opened that afternoon), so its events carry a moment of the demo's own history.
Someone the directory already has (a store where the demo ran before, or a person SCIM
provisioned under the same id) is left as they are: loading the demo again records
nothing and fails on nothing."""

import structlog

from events.identity import SYSTEM
from services.application.demo_people import PEOPLE, roster_details
from services.application.demo_quarter import phase
from services.application.demo_steps import DemoRun
from services.application.demo_weeks import Quarter, moment
from services.application.errors import Conflict

log = structlog.get_logger(__name__)

REASON = "demo roster"


def provision_roster(run: DemoRun, quarter: Quarter) -> None:
    """Add the step that provisions the roster, on the quarter's first morning."""
    when = moment(quarter.working_day(0), 9)

    def provision() -> None:
        directory = run.ledger.directory
        for person in PEOPLE:
            if directory.find(person.user_id) is not None:
                continue
            try:
                directory.provision(
                    person.user_id, roster_details(person), by=SYSTEM, reason=REASON
                )
            except Conflict:  # provisioned by another process since this one last read
                continue
            run.counts["provisioned"] += 1
        if run.counts["provisioned"]:
            run.notes.append(f"directory: {run.counts['provisioned']} people provisioned")
        log.info("demo.roster_provisioned", people=run.counts["provisioned"])

    run.add(when, "roster", phase(quarter, when), provision)
