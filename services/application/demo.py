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
from infra.logging import correlated
from services.application.ledger import Ledger
from services.application.principals import Principal

PRIYA = Principal.of("priya", ["executive"])
MEMBERS = {name: Principal.of(name, ["member"]) for name in ("tom", "elena", "dmitri", "sofia")}
WEEKS = 13


@dataclass(frozen=True)
class DemoKeyResult:
    title: str
    owner: str
    unit: str
    baseline: float
    target: float
    direction: str
    trajectory: tuple[float, float]  # value at week 1 and at week 13
    risk_domain: str | None = None
    risk_rating: int | None = None


FIRM = (
    "Strengthen our operational infrastructure ahead of the next fundraise",
    [
        DemoKeyResult("SOC 2 Type II certified by quarter end", "dmitri", "certified", 0, 1,
                      "milestone", (0, 1), "operational", 2),
        DemoKeyResult("LP reporting turnaround", "tom", "days", 15, 8, "decrease", (15, 9),
                      "operational", 2),
        DemoKeyResult("Head of Compliance hired by week ten", "priya", "hired", 0, 1,
                      "milestone", (0, 1), "compliance", 2),
    ],
)  # fmt: skip

TEAMS = {
    "elena": (
        "Sharpen the investment team's decision process",
        [
            DemoKeyResult("Investment memos with a documented downside case", "elena", "%", 40,
                          100, "increase", (45, 95), "investment", 3),
            DemoKeyResult("Median investment committee decision time", "elena", "days", 21, 14,
                          "decrease", (21, 15), "investment", 2),
        ],
    ),
    "dmitri": (
        "Make operations audit-ready for SOC 2",
        [
            DemoKeyResult("SOC 2 controls with evidence collected", "dmitri", "%", 55, 100,
                          "increase", (58, 100), "operational", 2),
            DemoKeyResult("Critical vendor due-diligence files complete", "dmitri", "files", 6,
                          20, "increase", (7, 18), "operational", 2),
        ],
    ),
    "sofia": (
        "Give our LPs faster, cleaner reporting",
        [
            DemoKeyResult("Report errors found by LPs per quarter", "sofia", "errors", 9, 2,
                          "decrease", (9, 3), "conduct", 2),
            DemoKeyResult("LP portal adoption", "tom", "% of LPs", 35, 80, "increase",
                          (36, 71), "conduct", 1),
        ],
    ),
}  # fmt: skip


def _value(kr: DemoKeyResult, week: int) -> float:
    start, end = kr.trajectory
    if kr.direction == "milestone":
        return end if week >= 10 else start
    return round(start + (end - start) * (week - 1) / (WEEKS - 1), 1)


def _confidence(kr: DemoKeyResult, week: int) -> float:
    return round(min(0.95, 0.5 + 0.03 * week + (0.05 if kr.direction == "increase" else 0)), 2)


def _who(owner: str) -> Principal:
    return PRIYA if owner == "priya" else MEMBERS[owner]


def _definition(kr: DemoKeyResult) -> dict[str, Any]:
    return {
        "title": kr.title,
        "owner": kr.owner,
        "unit": kr.unit,
        "baseline": kr.baseline,
        "target": kr.target,
        "direction": kr.direction,
        "pay_linked": False,
        "risk_domain": kr.risk_domain,
        "risk_rating": kr.risk_rating,
    }


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
        turnaround = next(i for i, kr in planned if kr.title == "LP reporting turnaround")
        memos = next(i for i, kr in planned if kr.title.startswith("Investment memos"))
        for week in range(1, WEEKS + 1):
            for key_result_id, kr in planned:
                note = f"week {week}"
                if kr.title == "LP reporting turnaround" and week in (2, 3):
                    note = "fund admin data late again"
                ledger.check_in(
                    _who(kr.owner), key_result_id, _value(kr, week), _confidence(kr, week), note
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
