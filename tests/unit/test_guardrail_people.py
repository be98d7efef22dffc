"""The guardrail input names what the people directory says of the people the rules read
(the actor, the owners of the resource before and after, of the objective and of the
siblings) and no one else; people the directory does not know are left out."""

from datetime import date
from uuid import uuid4

from events import Cycle, Objective, Stamp
from events.values import Commitment, Level
from services.application.guardrail_input import build_input
from services.application.people import Person
from services.application.principals import Principal

DIRECTORY = {
    "tom": Person("tom", "Tom Becker", "investor_relations", "Investor Relations"),
    "sofia": Person("sofia", "Sofia Rossi", "", "Investor Relations"),
    "elena": Person("elena", "Elena Petrova", "portfolio_manager", "Investment", active=False),
    "priya": Person("priya", "Priya Raman", "coo", "Leadership"),
    "marcus": Person("marcus", "Marcus Webb", "compliance", "Risk & Compliance"),
}


def test_the_people_the_rules_read_as_the_directory_has_them() -> None:
    asked: list[str] = []

    def find(user: str) -> Person | None:
        asked.append(user)
        return DIRECTORY.get(user)

    document = build_input(
        "key_result.revise", Principal.of("priya", ["executive"]), "key_result", uuid4(),
        {"title": "Net inflows", "owner": "elena"}, {"title": "Net inflows", "owner": "tom"},
        people=find,
    )  # fmt: skip
    assert document["people"] == {
        "elena": {"job_role": "portfolio_manager", "active": False},
        "priya": {"job_role": "coo", "active": True},
        "tom": {"job_role": "investor_relations", "active": True},
    }
    assert sorted(asked) == ["elena", "priya", "tom"]  # marcus is not read: not named


def test_objective_and_sibling_owners_unknown_people_and_no_directory() -> None:
    stamp = Stamp("priya", "c-1")
    cycle = Cycle.open("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), stamp)
    objective = Objective.create(
        cycle.id, "Give our LPs faster reporting", "", "sofia", Level.TEAM,
        Commitment.COMMITTED, None, stamp,
    )  # fmt: skip
    principal = Principal.of("nina", ["member"])
    after = {"title": "Revenue", "owner": "zoe"}
    document = build_input(
        "key_result.add", principal, "key_result", None, None, after, objective=objective,
        cycle=cycle, people=DIRECTORY.get,
    )  # fmt: skip
    # Sofia has no job role in the directory: null; nina and zoe are unknown: absent.
    assert document["people"] == {"sofia": {"job_role": None, "active": True}}
    without = build_input("key_result.add", principal, "key_result", None, None, after)
    assert without["people"] == {}
