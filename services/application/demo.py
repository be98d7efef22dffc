"""The demo quarter: a 30-person fund manager's 2026-Q4, from planning to scores.

Priya (COO) sets the firm objective; the investment, operations and investor-relations
teams align under it; owners check in for thirteen weeks; after lock one change request
is approved and one rejected; the cycle is closed and scored. Everything goes through the
ledger's commands, so the demo history is exactly what real use would record."""

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from events import Commitment, Level
from events.key_result_definition import KeyResultDefinition
from events.values import Direction
from infra.logging import correlated
from services.application.ledger import Ledger
from services.application.principals import Principal

PRIYA = Principal.of("priya", ["executive"])
MEMBERS = {name: Principal.of(name, ["member"]) for name in ("tom", "elena", "dmitri", "sofia")}
WEEKS = 13


@dataclass(frozen=True)
class DemoKeyResult:
    """A key result of the demo: its definition, and how its check-ins travel."""

    definition: KeyResultDefinition
    trajectory: tuple[float, float]  # value at week 1 and at week 13


# The definitions' fields in definition order: title, owner, unit, baseline, target,
# direction, pay_linked, risk_domain, risk_rating (no guardrail metric).
Defined = KeyResultDefinition
MILESTONE, INCREASE, DECREASE = Direction.MILESTONE, Direction.INCREASE, Direction.DECREASE

FIRM = (
    "Strengthen our operational infrastructure ahead of the next fundraise",
    [
        DemoKeyResult(Defined("SOC 2 Type II certified by quarter end", "dmitri", "certified",
                              0, 1, MILESTONE, False, "operational", 2), (0, 1)),
        DemoKeyResult(Defined("LP reporting turnaround", "tom", "days", 15, 8, DECREASE,
                              False, "operational", 2), (15, 9)),
        DemoKeyResult(Defined("Head of Compliance hired by week ten", "priya", "hired", 0, 1,
                              MILESTONE, False, "compliance", 2), (0, 1)),
    ],
)  # fmt: skip

TEAMS = {
    "elena": (
        "Sharpen the investment team's decision process",
        [
            DemoKeyResult(Defined("Investment memos with a documented downside case", "elena",
                                  "%", 40, 100, INCREASE, False, "investment", 3), (45, 95)),
            DemoKeyResult(Defined("Median investment committee decision time", "elena",
                                  "days", 21, 14, DECREASE, False, "investment", 2), (21, 15)),
        ],
    ),
    "dmitri": (
        "Make operations audit-ready for SOC 2",
        [
            DemoKeyResult(Defined("SOC 2 controls with evidence collected", "dmitri", "%", 55,
                                  100, INCREASE, False, "operational", 2), (58, 100)),
            DemoKeyResult(Defined("Critical vendor due-diligence files complete", "dmitri",
                                  "files", 6, 20, INCREASE, False, "operational", 2), (7, 18)),
        ],
    ),
    "sofia": (
        "Give our LPs faster, cleaner reporting",
        [
            DemoKeyResult(Defined("Report errors found by LPs per quarter", "sofia", "errors",
                                  9, 2, DECREASE, False, "conduct", 2), (9, 3)),
            DemoKeyResult(Defined("LP portal adoption", "tom", "% of LPs", 35, 80, INCREASE,
                                  False, "conduct", 1), (36, 71)),
        ],
    ),
}  # fmt: skip


def _value(kr: DemoKeyResult, week: int) -> float:
    start, end = kr.trajectory
    if kr.definition.direction == Direction.MILESTONE:
        return end if week >= 10 else start
    return round(start + (end - start) * (week - 1) / (WEEKS - 1), 1)


def _confidence(kr: DemoKeyResult, week: int) -> float:
    bonus = 0.05 if kr.definition.direction == Direction.INCREASE else 0
    return round(min(0.95, 0.5 + 0.03 * week + bonus), 2)


def _who(owner: str) -> Principal:
    return PRIYA if owner == "priya" else MEMBERS[owner]


def _definition(kr: DemoKeyResult) -> dict[str, Any]:
    """The definition as a client sends it: every field, enums as their values."""
    return dict(kr.definition)


def load_demo(ledger: Ledger) -> UUID:
    """Record the demo quarter through the ledger; returns the cycle id."""
    with correlated(None, command="demo"):
        cycle = ledger.open_cycle(PRIYA, "2026-Q4", date(2026, 10, 5), date(2026, 12, 31))
        firm = ledger.create_objective(
            PRIYA, cycle.id, FIRM[0], "priya", Level.COMPANY, Commitment.COMMITTED,
            description="Investors in the next fund will diligence our controls and reporting.",
        )  # fmt: skip
        planned: list[tuple[UUID, DemoKeyResult]] = []
        for kr in FIRM[1]:
            planned.append((ledger.add_key_result(PRIYA, firm.id, _definition(kr)).id, kr))
        for lead, (title, key_results) in TEAMS.items():
            team = ledger.create_objective(
                MEMBERS[lead],
                cycle.id,
                title,
                lead,
                Level.TEAM,
                Commitment.ASPIRATIONAL,
                parent_id=firm.id,
            )
            for kr in key_results:
                recorded = ledger.add_key_result(MEMBERS[lead], team.id, _definition(kr))
                planned.append((recorded.id, kr))

        ledger.lock_cycle(PRIYA, cycle.id)
        turnaround = next(
            i for i, kr in planned if kr.definition.title == "LP reporting turnaround"
        )
        memos = next(i for i, kr in planned if kr.definition.title.startswith("Investment memos"))
        for week in range(1, WEEKS + 1):
            for key_result_id, kr in planned:
                note = f"week {week}"
                if kr.definition.title == "LP reporting turnaround" and week in (2, 3):
                    note = "fund admin data late again"
                ledger.check_in(
                    _who(kr.definition.owner),
                    key_result_id,
                    _value(kr, week),
                    _confidence(kr, week),
                    note,
                )
            if week == 6:
                request = ledger.request_change(
                    MEMBERS["tom"], turnaround, {"target": 10},
                    "fund administrator migration slipped to January; 8 days is out of reach",
                )  # fmt: skip
                ledger.approve_change(PRIYA, request.id, "agreed; revisit in Q1")
                lowered = ledger.request_change(
                    MEMBERS["elena"], memos, {"target": 80}, "deal flow is heavier than planned"
                )
                ledger.reject_change(
                    PRIYA, lowered.id, "a documented downside case is a regulatory expectation"
                )
        ledger.close_cycle(PRIYA, cycle.id)
        return cycle.id
