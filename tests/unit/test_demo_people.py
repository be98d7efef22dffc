"""The demo firm's roster: thirty people, what the directory records of each (the job
roles the conduct rule reads), and the people the README and the tests act as, in the
roles they act in."""

import json
from collections import Counter

from events.directory import PERSON_FIELDS
from events.identity import is_canonical_user_id
from policies.bundle import SHIPPED_BUNDLE_DIR
from services.application.demo_people import BY_ID, PEOPLE, roster_details
from services.application.people import display_names
from services.application.principals import Role


def test_thirty_people_with_canonical_ids_and_okrgov_roles() -> None:
    assert len(PEOPLE) == 30
    assert len(BY_ID) == 30
    assert all(is_canonical_user_id(p.user_id) for p in PEOPLE)
    assert {Role(p.role) for p in PEOPLE} == set(Role)
    assert all(p.name and p.title for p in PEOPLE)
    assert display_names(PEOPLE)["tom"] == "Tom Becker"


def test_what_the_directory_records_of_each_person() -> None:
    """The demo provisions each person with these details; the conduct rule reads the job
    role from there, so the client-facing ones are the ones data.json names."""
    details = roster_details(BY_ID["tom"])
    assert details == {
        "name": "Tom Becker", "job_role": "investor_relations", "team": "Investor Relations",
        "title": "Investor Relations Manager", "email": "tom@northbridge.example",
    }  # fmt: skip
    assert set(details) <= set(PERSON_FIELDS)
    data = json.loads((SHIPPED_BUNDLE_DIR / "data.json").read_text())
    assert "job_roles" not in data
    client_facing = {p.user_id for p in PEOPLE if p.job_role in data["client_facing_roles"]}
    assert client_facing == {"tom", "sofia", "lena", "mateo"}
    assert len({p.email for p in PEOPLE}) == 30


def test_the_people_the_readme_and_tests_act_as() -> None:
    expected = {
        "priya": "executive", "tom": "member", "ana": "risk_officer", "marcus": "compliance",
        "sam": "admin", "elena": "member", "dmitri": "member", "sofia": "member",
    }  # fmt: skip
    assert {user: BY_ID[user].role for user in expected} == expected
    # Four eyes on policy versions needs a second risk officer.
    assert Counter(p.role for p in PEOPLE)["risk_officer"] >= 2


def test_the_teams_of_a_fund_manager() -> None:
    teams = Counter(p.team for p in PEOPLE)
    for team in ("Investment", "Operations", "Risk & Compliance", "Investor Relations",
                 "Finance"):  # fmt: skip
        assert teams[team] >= 3, team
