"""What the demo firm plans in each of its two quarters: the objectives and key results, how
far each key result gets by quarter end, and what its owner writes in check-in notes.

The quarters are not dated here: ``services.application.demo`` places the last one (closed,
scored and sealed) and the current one (locked, mid-way) relative to today. The current
quarter carries the last one's unfinished work on, with baselines where the last quarter
ended, as a real firm's second quarter on okrgov would.

``outcome`` is how far from baseline to target a key result gets by quarter end (1.0: the
target is met; the last quarter's scores are these, so they range from about 0.3 to 1.0);
the weekly values wander towards it. A few key results are written to meet a guardrail:
their titles, owners and ratings are part of the story the demo tells (see ``demo``).

Over 300 lines on purpose: it is data, two quarters of a thirty-person firm's OKRs with
their notes, and reads best in one place."""

from dataclasses import dataclass, field
from typing import Any

from events import Commitment, Level
from events.values import Direction

INCREASE, DECREASE, MILESTONE = Direction.INCREASE, Direction.DECREASE, Direction.MILESTONE
COMPANY, TEAM = Level.COMPANY, Level.TEAM
COMMITTED, ASPIRATIONAL = Commitment.COMMITTED, Commitment.ASPIRATIONAL


@dataclass(frozen=True)
class PlannedKeyResult:
    key: str
    """Names the key result within its quarter (the demo's steps refer to it)."""
    title: str
    owner: str
    unit: str
    baseline: float
    target: float
    direction: Direction
    risk_domain: str
    risk_rating: int
    outcome: float
    notes: tuple[str, ...]
    step: float = 1
    """Values are reported to this precision (1 file, 0.5 days, 5 EUR m)."""
    guardrail_metric: str | None = None
    confidence: float | None = None
    """The owner's confidence at planning; None: drawn from the seed."""

    def definition(self, **changes: Any) -> dict[str, Any]:
        """The definition as a client sends it."""
        return {
            "title": self.title,
            "owner": self.owner,
            "unit": self.unit,
            "baseline": self.baseline,
            "target": self.target,
            "direction": self.direction.value,
            "pay_linked": False,
            "risk_domain": self.risk_domain,
            "risk_rating": self.risk_rating,
            "guardrail_metric": self.guardrail_metric,
            **changes,
        }


@dataclass(frozen=True)
class PlannedObjective:
    key: str
    title: str
    owner: str
    level: Level
    commitment: Commitment
    description: str
    key_results: tuple[PlannedKeyResult, ...]
    parent: str | None = None
    """The key of the objective it aligns under."""


@dataclass(frozen=True)
class QuarterPlan:
    objectives: tuple[PlannedObjective, ...]
    stale: str | None = None
    """The key result whose owner stops checking in (the current quarter's stale one)."""
    extra: dict[str, PlannedKeyResult] = field(default_factory=dict)
    """Key results the demo adds itself, in its governance steps (keyed likewise)."""

    def key_results(self) -> list[tuple[PlannedObjective, PlannedKeyResult]]:
        return [(o, kr) for o in self.objectives for kr in o.key_results]


def kr(
    key: str,
    title: str,
    owner: str,
    measure: tuple[str, float, float, Direction],
    risk: tuple[str, int],
    outcome: float,
    notes: tuple[str, ...],
    **more: Any,
) -> PlannedKeyResult:
    unit, baseline, target, direction = measure
    return PlannedKeyResult(
        key, title, owner, unit, baseline, target, direction, *risk, outcome, notes, **more
    )


# ---- the last quarter: closed, scored, sealed ----------------------------------------------

LAST = QuarterPlan(
    objectives=(
        PlannedObjective(
            "diligence", "Get the firm ready for institutional due diligence on the next fund",
            "priya", COMPANY, COMMITTED,
            "The next fund's anchor LPs will send operational due-diligence teams; we want "
            "nothing in our controls or reporting that slows them down.",
            (
                kr("soc2", "SOC 2 Type I report issued", "dmitri",
                   ("report", 0, 1, MILESTONE), ("operational", 2), 1.0,
                   ("Auditor engaged; scoping call booked.",
                    "Control narratives drafted for access and change management.",
                    "Readiness assessment back: four gaps, all in vendor management.",
                    "Fieldwork dates agreed with the auditor.",
                    "Fieldwork done; waiting on the draft report.",
                    "Draft report has no exceptions. Final expected next week.")),
                kr("turnaround", "LP reporting turnaround", "tom",
                   ("days", 15, 8, DECREASE), ("operational", 2), 0.64,
                   ("Fund admin data late again; NAV pack went out on day 14.",
                    "Templates rebuilt so the commentary can start before the NAV is final.",
                    "Fund administrator migration pushed back a month.",
                    "Quarterly letter drafted in parallel with the NAV this time.",
                    "Two LPs asked for the capital account statements early; sent by day 11.",
                    "Still blocked on the administrator's new data feed."), step=0.5),
                kr("policies", "Compliance policies reviewed and re-approved by the board",
                   "fatima", ("%", 60, 100, INCREASE), ("compliance", 2), 0.85,
                   ("Conflicts and personal account dealing policies with the board pack.",
                    "Outsourcing policy needs legal's input before it goes to the board.",
                    "Board approved six policies at the quarterly meeting.",
                    "Remuneration policy waiting for the remuneration committee.",
                    "Gifts and entertainment register reconciled to the policy.")),
            ),
        ),
        PlannedObjective(
            "fundraise", "Raise the next flagship fund on the strength of our track record",
            "jonathan", COMPANY, COMMITTED,
            "First close of the next fund; the pipeline is strong but the market is slow.",
            (
                kr("raised", "New LP commitments raised", "jonathan",
                   ("EUR m", 0, 150, INCREASE), ("conduct", 2), 0.55,
                   ("Three soft circles from the Nordic pension roadshow.",
                    "Data room opened to twelve LPs.",
                    "Two LPs pushed their investment committees into next quarter.",
                    "Side letter negotiations with the anchor are taking longer than hoped.",
                    "First commitment signed.",
                    "Consultant meetings in London went well; no commitments yet."), step=5),
                kr("ddq", "Due-diligence questionnaires answered within ten working days",
                   "sofia", ("%", 40, 90, INCREASE), ("conduct", 1), 0.9,
                   ("Standard answers library now covers the ILPA DDQ.",
                    "Four DDQs in at once; two went past ten days.",
                    "Operations and compliance sections pre-approved, which saves a week.",
                    "All DDQs this month inside ten days."),
                   guardrail_metric="LP complaints about DDQ answers"),
            ),
        ),
        PlannedObjective(
            "decisions", "Sharpen the investment team's decision process",
            "elena", TEAM, ASPIRATIONAL,
            "LPs ask how we decide, not only what we bought.",
            (
                kr("memos", "Investment memos with a documented downside case", "elena",
                   ("%", 40, 100, INCREASE), ("investment", 3), 0.8,
                   ("Memo template now has a mandatory downside section.",
                    "Two memos came to committee without a downside case; sent back.",
                    "Deal flow is heavy; analysts are behind on the downside work.",
                    "Chloé ran a session on writing the bear case.",
                    "Most new memos compliant; the add-on deals are the gap.")),
                kr("ic_time", "Median investment committee decision time", "rajesh",
                   ("days", 21, 14, DECREASE), ("investment", 2), 0.57,
                   ("Committee now meets twice a week during deal season.",
                    "One deal waited nine days for a tax opinion.",
                    "Pre-reads go out 48 hours ahead now.",
                    "Summer holidays slowed the committee down.",
                    "Better, but the large deals still take three weeks."), step=0.5),
                kr("value_plans", "Portfolio companies with an updated value-creation plan",
                   "chloe", ("companies", 4, 12, INCREASE), ("investment", 2), 1.0,
                   ("Two more plans signed off by the boards.",
                    "Management teams engaged; the logistics company is slow.",
                    "Plans for the software companies done.",
                    "All twelve plans in; the last two need board minutes.")),
            ),
            parent="diligence",
        ),
        PlannedObjective(
            "credit", "Keep the private credit book healthy as rates move",
            "rajesh", TEAM, COMMITTED,
            "Floating-rate borrowers are feeling the rate rises.",
            (
                kr("watch_list", "Loans on the watch list", "omar",
                   ("loans", 7, 4, DECREASE), ("credit", 3), 0.67,
                   ("One borrower refinanced out; off the list.",
                    "Retailer missed its interest cover test; added back.",
                    "Sponsor put in equity for the care-homes loan.",
                    "Two loans cured after amendments.")),
                kr("covenants", "Covenant tests reviewed within five days of receipt", "omar",
                   ("%", 60, 95, INCREASE), ("credit", 2), 0.95,
                   ("Compliance certificates now logged the day they arrive.",
                    "Quarter-end batch of certificates all reviewed in time.",
                    "One late certificate from the borrower, not from us.")),
            ),
            parent="diligence",
        ),
        PlannedObjective(
            "audit_ready", "Make operations audit-ready for SOC 2",
            "dmitri", TEAM, COMMITTED,
            "Evidence for every control, kept as we go rather than collected at the end.",
            (
                kr("evidence", "SOC 2 controls with evidence collected", "grace",
                   ("%", 55, 100, INCREASE), ("operational", 2), 1.0,
                   ("Access reviews evidenced for all systems.",
                    "Change management tickets linked to the controls.",
                    "Backup restore test evidence saved.",
                    "Last controls evidenced; the auditor has read access.")),
                kr("vendors", "Critical vendor due-diligence files complete", "nina",
                   ("files", 6, 20, INCREASE), ("operational", 2), 0.79,
                   ("Questionnaires sent to all critical vendors.",
                    "Fund administrator's SOC 1 report received.",
                    "Two vendors have not answered in three weeks; escalated.",
                    "Cloud providers' reports reviewed and filed.")),
                kr("breaks", "Trade breaks open beyond two days", "peter",
                   ("breaks", 12, 3, DECREASE), ("operational", 2), 0.33,
                   ("Prime broker changed its file format; breaks up.",
                    "Matching rules updated for the new format.",
                    "FX forwards still break on settlement dates.",
                    "Henrik's desk now books the forwards with the right value date.",
                    "Backlog down, but new breaks keep coming from the custodian.")),
            ),
            parent="diligence",
        ),
        PlannedObjective(
            "reporting", "Give our LPs faster, cleaner reporting",
            "sofia", TEAM, ASPIRATIONAL,
            "Reporting is what LPs see of us between meetings.",
            (
                kr("errors", "Report errors found by LPs", "isabel",
                   ("errors", 9, 2, DECREASE), ("conduct", 2), 0.71,
                   ("Four-eyes check on every capital account statement now.",
                    "One LP found a wrong FX rate in the quarterly report.",
                    "Automated tie-out of the report to the general ledger.",
                    "No errors reported this month.")),
                kr("portal", "LP portal adoption", "tom",
                   ("% of LPs", 35, 80, INCREASE), ("conduct", 1), 0.6,
                   ("Portal invitations sent to every LP.",
                    "Larger LPs want API access, not a portal.",
                    "Walkthrough webinar had 30 attendees.",
                    "Single sign-on for the two largest LPs is live.")),
            ),
            parent="fundraise",
        ),
        PlannedObjective(
            "close", "Close the books faster with fewer adjustments",
            "david", TEAM, COMMITTED,
            "A faster close gives the board and the LP reports their numbers sooner.",
            (
                kr("close_days", "Working days to monthly close", "david",
                   ("working days", 12, 6, DECREASE), ("operational", 2), 1.0,
                   ("Accruals checklist moved to day one.",
                    "Bank feeds automated for the operating accounts.",
                    "Intercompany recharges are now the slowest step.",
                    "Closed in six working days this month.")),
                kr("adjustments", "Post-close adjusting entries", "amara",
                   ("entries", 25, 8, DECREASE), ("operational", 1), 0.76,
                   ("Most adjustments come from late invoices.",
                    "Invoice cut-off agreed with the big suppliers.",
                    "Management fee true-ups still adjusted after close.")),
            ),
            parent="diligence",
        ),
        PlannedObjective(
            "limits", "Stay well inside our regulatory and risk limits",
            "priya", TEAM, COMMITTED,
            "The regulator's visit next year will look at monitoring and escalation first.",
            (
                kr("monitoring", "Compliance monitoring tests completed on schedule", "fatima",
                   ("%", 70, 100, INCREASE), ("compliance", 2), 0.9,
                   ("Best-execution review done for the quarter.",
                    "Personal account dealing test slipped a week.",
                    "Marketing materials review completed.")),
                kr("escalation", "Risk limit breaches not escalated within a day", "wei",
                   ("breaches", 5, 0, DECREASE), ("market", 2), 0.8,
                   ("Limit monitoring now alerts the PM and risk together.",
                    "One concentration breach escalated on day two.",
                    "Breach log reviewed with Kofi every Friday.")),
            ),
            parent="diligence",
        ),
    ),
)  # fmt: skip


# ---- the current quarter: locked, mid-way --------------------------------------------------

CURRENT = QuarterPlan(
    objectives=(
        PlannedObjective(
            "diligence", "Pass institutional due diligence without findings on our controls",
            "priya", COMPANY, COMMITTED,
            "The anchor LPs' operational due-diligence visits are booked for this quarter.",
            (
                kr("soc2", "SOC 2 Type II observation period with no exceptions", "dmitri",
                   ("period", 0, 1, MILESTONE), ("operational", 2), 1.0,
                   ("Observation period started; evidence collection on schedule.",
                    "Monthly control checks all passed.",
                    "Auditor's interim walkthrough raised no issues.",
                    "One access review a day late; documented as a near miss.")),
                kr("turnaround", "LP reporting turnaround", "tom",
                   ("days", 10.5, 7, DECREASE), ("operational", 2), 0.75,
                   ("New administrator feed is live for the main fund.",
                    "Parallel run with the old administrator doubled the checks this month.",
                    "Commentary drafted before the NAV is final again.",
                    "Co-investment vehicles still come from the old administrator."), step=0.5),
                kr("odd_visits", "Operational due-diligence visits closed without findings",
                   "priya", ("visits", 0, 4, INCREASE), ("operational", 2), 0.75,
                   ("First visit done; two questions on key-person cover, no findings.",
                    "Second visit pushed to next month by the LP.",
                    "Pension fund's consultant asked for our SOC 2 bridge letter.")),
            ),
        ),
        PlannedObjective(
            "fundraise", "Close Fund III at 500m with the LPs we want",
            "jonathan", COMPANY, COMMITTED,
            "Final close this quarter; we would rather be smaller than take the wrong LPs.",
            (
                kr("reups", "Fund II LPs re-upping into Fund III", "sofia",
                   ("% of LPs", 30, 70, INCREASE), ("conduct", 1), 0.8,
                   ("Three Fund II LPs confirmed at their committees.",
                    "One LP re-upped at half its Fund II size.",
                    "Two LPs waiting on their asset allocation review."),
                   guardrail_metric="LP complaints"),
            ),
        ),
        PlannedObjective(
            "traceable", "Make every investment decision traceable to its risks",
            "elena", TEAM, ASPIRATIONAL,
            "A regulator or an LP should be able to follow any decision from memo to vote.",
            (
                kr("memos", "Investment memos with a documented downside case", "elena",
                   ("%", 80, 100, INCREASE), ("investment", 3), 0.7,
                   ("All new platform deals have a downside case.",
                    "Add-on acquisitions still skip the section.",
                    "Yuki built a downside-case checklist for add-ons.")),
                kr("ic_time", "Median investment committee decision time", "rajesh",
                   ("days", 17, 14, DECREASE), ("investment", 2), 0.9,
                   ("Committee calendar fixed for the quarter.",
                    "One large deal needed a second meeting.",
                    "Tax opinions now ordered before the first committee."), step=0.5),
            ),
            parent="diligence",
        ),
        PlannedObjective(
            "credit", "Grow the private credit book without loosening our underwriting",
            "rajesh", TEAM, COMMITTED,
            "Deploy the credit fund's dry powder at the terms we lend on today.",
            (
                kr("deployed", "Private credit commitments deployed", "omar",
                   ("EUR m", 40, 90, INCREASE), ("credit", 3), 0.8,
                   ("Two unitranche deals signed.",
                    "Lost one deal on covenants; we would not go covenant-lite.",
                    "Pipeline has four deals in due diligence."),
                   step=5, guardrail_metric="loans on the watch list"),
                kr("watch_list", "Loans on the watch list", "omar",
                   ("loans", 5, 3, DECREASE), ("credit", 3), 0.5,
                   ("Care-homes loan off the list after the equity cure.",
                    "Retailer still under watch.",
                    "New borrower added after a profit warning.")),
            ),
            parent="diligence",
        ),
        PlannedObjective(
            "operations", "Run operations the way a due-diligence team expects to find them",
            "dmitri", TEAM, COMMITTED,
            "What the ODD teams test: breaks, reconciliations, vendors.",
            (
                kr("breaks", "Trade breaks open beyond two days", "peter",
                   ("breaks", 9, 3, DECREASE), ("operational", 2), 0.8,
                   ("Custodian fixed its corporate actions feed.",
                    "Month-end spike in FX breaks again.",
                    "Breaks now reviewed at the 10 o'clock stand-up.")),
                kr("recs", "Daily reconciliations automated", "aisha",
                   ("%", 30, 80, INCREASE), ("operational", 2), 0.7,
                   ("Cash reconciliations automated for the main fund.",
                    "Position reconciliations need the custodian's new API.",
                    "Custodian API credentials came through.")),
                kr("vendor_files", "Critical vendors with a current due-diligence file", "nina",
                   ("%", 70, 100, INCREASE), ("operational", 2), 0.6,
                   ("Annual reviews scheduled for every critical vendor.",
                    "Waiting on the market data vendor's questionnaire.")),
            ),
            parent="diligence",
        ),
        PlannedObjective(
            "lp_reporting", "Make our reporting a reason LPs stay with us",
            "sofia", TEAM, ASPIRATIONAL,
            "Fund III LPs get the same reporting from the first quarter.",
            (
                kr("errors", "Report errors found by LPs", "isabel",
                   ("errors", 5, 1, DECREASE), ("conduct", 2), 0.75,
                   ("Tie-out automation caught two errors before sending.",
                    "An LP queried the fee calculation; it was right.",
                    "Error log reviewed with finance.")),
                kr("portal", "LP portal adoption", "tom",
                   ("% of LPs", 62, 90, INCREASE), ("conduct", 1), 0.6,
                   ("Fund III LPs onboarded to the portal at signing.",
                    "Two large LPs now pull reports through the API.",
                    "Portal usage dipped; the notices still go by email.")),
            ),
            parent="fundraise",
        ),
        PlannedObjective(
            "numbers", "Give the board numbers it can rely on sooner",
            "david", TEAM, COMMITTED,
            "The board pack goes out a week after month end.",
            (
                kr("close_days", "Working days to monthly close", "david",
                   ("working days", 6, 5, DECREASE), ("operational", 2), 1.0,
                   ("Closed in five days; the recharges are automated now.",
                    "Audit prep took a day off the close team."), confidence=0.95),
                kr("fee_checks", "Management fee calculations checked by a second person",
                   "amara", ("%", 90, 100, INCREASE), ("operational", 1), 1.0,
                   ("Leo checks every fee calculation now.",
                    "All fee calculations checked this month."), confidence=0.96),
            ),
            parent="diligence",
        ),
        PlannedObjective(
            "stewardship", "Make our stewardship record credible to the LPs who ask about it",
            "lucia", TEAM, ASPIRATIONAL,
            "Several Fund III LPs ask for portfolio climate data in their side letters.",
            (
                kr("emissions", "Portfolio companies reporting emissions data", "lucia",
                   ("companies", 3, 10, INCREASE), ("investment", 2), 0.6,
                   ("Data request sent to every portfolio company.",
                    "Two companies need help with scope 2 figures.",
                    "Logistics company's data came back incomplete.")),
            ),
        ),
        PlannedObjective(
            "limits", "Stay well inside our regulatory and risk limits",
            "priya", TEAM, COMMITTED,
            "The regulator's visit is now dated; monitoring and escalation come first.",
            (
                kr("monitoring", "Compliance monitoring tests completed on schedule", "fatima",
                   ("%", 85, 100, INCREASE), ("compliance", 2), 0.8,
                   ("Marketing review done for the Fund III deck.",
                    "Best-execution test moved; the trading data came late.",
                    "Personal account dealing test completed on time.")),
                kr("escalation", "Risk limit breaches not escalated within a day", "wei",
                   ("breaches", 2, 0, DECREASE), ("market", 2), 1.0,
                   ("No late escalations this month.",
                    "Limit alerts now reach Kofi's phone too.")),
            ),
            parent="diligence",
        ),
    ),
    stale="vendor_files",
    extra={
        "raised": kr("raised", "Fund III commitments raised", "jonathan",
                     ("EUR m", 180, 500, INCREASE), ("conduct", 2), 0.7,
                     ("Anchor LP's commitment signed at the full amount.",
                      "Two Nordic pensions approved at their committees.",
                      "Side letters with the sovereign fund agreed.",
                      "Consultant-led LPs waiting for the final close date."),
                     step=5, guardrail_metric="LP complaints"),
        "ebitda": kr("ebitda", "Portfolio companies on plan for EBITDA", "chloe",
                     ("companies", 6, 10, INCREASE), ("investment", 2), 0.5,
                     ("Two companies ahead of plan after price rises.",
                      "Logistics company behind on its cost programme.",
                      "Software companies all on plan.")),
        "leverage": kr("leverage", "Opportunistic sleeve invested at target leverage",
                       "rajesh", ("x net debt to EBITDA", 3.0, 4.5, INCREASE),
                       ("investment", 4), 0.6,
                       ("Two positions financed at target terms.",
                        "Lenders want more equity on the retail deal."),
                       step=0.1, guardrail_metric="loans on the watch list"),
        "notices": kr("notices", "Launch capital-call notices on the LP portal", "mateo",
                      ("notices", 0, 1, MILESTONE), ("operational", 1), 1.0,
                      ("Notice template agreed with legal.",
                       "Test notices sent to two friendly LPs.")),
    },
)  # fmt: skip
