"""The demo firm's roster: thirty people the guardrails' job-role map agrees with, and the
people the README and the tests act as, in the roles they act in."""

import json
from collections import Counter

from events.identity import is_canonical_user_id
from policies.bundle import SHIPPED_BUNDLE_DIR
from services.application.demo_people import BY_ID, PEOPLE, job_roles
from services.application.people import display_names
from services.application.principals import Role


def test_thirty_people_with_canonical_ids_and_okrgov_roles() -> None:
    assert len(PEOPLE) == 30
    assert len(BY_ID) == 30
    assert all(is_canonical_user_id(p.user_id) for p in PEOPLE)
    assert {Role(p.role) for p in PEOPLE} == set(Role)
    assert all(p.name and p.title for p in PEOPLE)
    assert display_names(PEOPLE)["tom"] == "Tom Becker"


def test_the_shipped_job_role_map_agrees_with_the_roster() -> None:
    """data.json's conduct rule reads job roles by user id: whoever it names has that
    job role here too, and the demo's policy change adds the rest as written here."""
    shipped = json.loads((SHIPPED_BUNDLE_DIR / "data.json").read_text())["job_roles"]
    assert {user: BY_ID[user].job_role for user in shipped} == shipped
    assert job_roles()["tom"] == "investor_relations"
    client_facing = json.loads((SHIPPED_BUNDLE_DIR / "data.json").read_text())[
        "client_facing_roles"
    ]
    assert "lena" not in shipped and BY_ID["lena"].job_role in client_facing


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
