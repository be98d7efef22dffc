"""What the Monday page opens on: a small cycle whole, with its filters as asked; a cycle
of more than ``LARGE_CYCLE`` key results on its company level unless filters were asked
for; and the objectives whose weeks are read (and whose silence is listed) for a filter."""

from __future__ import annotations

from typing import Any

from services.application.people import Person
from services.reports.monday_rows import LARGE_CYCLE, Filters, in_view, narrowed

PEOPLE = {
    "priya": Person("priya", "Priya Raman", "coo", "Leadership", "executive"),
    "tom": Person("tom", "Tom Becker", "investor_relations", "Investor Relations"),
    "elena": Person("elena", "Elena Petrova", "portfolio_manager", "Investment"),
}


def _objective(ident: str, level: str, owner: str, kr_owners: list[str]) -> dict[str, Any]:
    key_results = [
        {"id": f"{ident}-kr{i}", "owner": who, "status": "active", "title": f"KR {i}"}
        for i, who in enumerate(kr_owners)
    ]
    return {"id": ident, "level": level, "owner": owner, "key_results": key_results}


def _cycle(key_results: int) -> list[dict[str, Any]]:
    company = _objective("firm", "company", "priya", ["priya"])
    team = _objective("ir", "team", "tom", ["tom"] * (key_results - 1))
    return [company, team]


def test_a_small_cycle_opens_whole_and_keeps_the_filters_asked_for() -> None:
    objectives = _cycle(LARGE_CYCLE)
    assert narrowed(objectives, Filters()) == Filters()
    assert narrowed(objectives, Filters(team="Investment")) == Filters(team="Investment")


def test_a_large_cycle_opens_on_its_company_level_unless_filters_are_asked() -> None:
    objectives = _cycle(LARGE_CYCLE + 1)
    assert narrowed(objectives, Filters()) == Filters(level="company")
    assert narrowed(objectives, Filters(owner="tom")) == Filters(owner="tom")
    assert [o["id"] for o in in_view(objectives, Filters(level="company"), PEOPLE)] == ["firm"]


def test_in_view_keeps_an_objective_whose_owner_or_a_key_results_owner_passes() -> None:
    objectives = [
        _objective("firm", "company", "priya", ["tom"]),
        _objective("ir", "team", "tom", ["tom"]),
        _objective("invest", "team", "elena", ["elena"]),
    ]
    team = in_view(objectives, Filters(team="Investor Relations"), PEOPLE)
    assert [o["id"] for o in team] == ["firm", "ir"]
    assert all(o["children"] == [] for o in team)
    assert [o["id"] for o in in_view(objectives, Filters(level="team"), PEOPLE)] == ["ir", "invest"]
