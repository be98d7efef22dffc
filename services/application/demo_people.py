"""The demo firm's roster: thirty people of a fund manager, in six teams, each with the
okrgov role their token carries. The demo records them in the people directory before its
first step (``roster_details``: name, job role, team, title, e-mail), as an HR system
provisions a firm's people; the guardrails read job roles from there (``tom``, ``sofia``
and ``lena`` are ``investor_relations``, so a sales-volume key result of theirs is refused),
and pages and reports name people from there too.

The README and the tests use ``tom``, ``sofia``, ``elena``, ``dmitri``, ``priya``, ``sam``
(admin), ``ana`` (risk officer) and ``marcus`` (compliance)."""

from collections.abc import Mapping
from typing import Any

from services.application.people import Person

FIRM_NAME = "Northbridge Capital Partners"
EMAIL_DOMAIN = "northbridge.example"

LEADERSHIP = "Leadership"
INVESTMENT = "Investment"
OPERATIONS = "Operations"
RISK_COMPLIANCE = "Risk & Compliance"
INVESTOR_RELATIONS = "Investor Relations"
FINANCE = "Finance"

# Per team: user id, name, job role (as data.json names it), okrgov role, title.
EXEC, MEMBER, IR = "executive", "member", "investor_relations"
_TEAMS: dict[str, tuple[tuple[str, str, str, str, str], ...]] = {
    LEADERSHIP: (
        ("priya", "Priya Raman", "coo", EXEC, "Chief Operating Officer"),
        ("jonathan", "Jonathan Hale", "ceo", EXEC, "Chief Executive Officer"),
    ),
    INVESTMENT: (
        ("elena", "Elena Petrova", "portfolio_manager", MEMBER, "Partner, Portfolio Manager"),
        ("rajesh", "Rajesh Iyer", "portfolio_manager", MEMBER, "Portfolio Manager, Credit"),
        ("chloe", "Chloé Martin", "investment_analyst", MEMBER, "Senior Investment Analyst"),
        ("ben", "Ben Adeyemi", "investment_analyst", MEMBER, "Investment Analyst"),
        ("yuki", "Yuki Tanaka", "investment_associate", MEMBER, "Investment Associate"),
        ("omar", "Omar Haddad", "credit_analyst", MEMBER, "Credit Analyst"),
        ("lucia", "Lucía Fernández", "esg_analyst", MEMBER, "ESG and Stewardship Analyst"),
        ("henrik", "Henrik Larsen", "trader", MEMBER, "Head of Trading"),
    ),
    OPERATIONS: (
        ("dmitri", "Dmitri Volkov", "operations", MEMBER, "Head of Operations"),
        ("grace", "Grace Liu", "operations", MEMBER, "Operations Analyst"),
        ("nina", "Nina Kowalski", "operations", MEMBER, "Fund Operations Manager"),
        ("peter", "Peter Walsh", "operations", MEMBER, "Trade Operations Associate"),
        ("aisha", "Aisha Bello", "technology", MEMBER, "Data Engineer"),
        ("sam", "Sam Okoro", "technology", "admin", "Head of IT and Security"),
    ),
    RISK_COMPLIANCE: (
        ("ana", "Ana Sousa", "risk", "risk_officer", "Chief Risk Officer"),
        ("kofi", "Kofi Mensah", "risk", "risk_officer", "Head of Market Risk"),
        ("wei", "Wei Zhang", "risk", MEMBER, "Risk Analyst"),
        ("marcus", "Marcus Webb", "compliance", "compliance", "Chief Compliance Officer"),
        ("fatima", "Fatima Ahmed", "compliance", MEMBER, "Compliance Officer"),
    ),
    INVESTOR_RELATIONS: (
        ("sofia", "Sofia Rossi", IR, MEMBER, "Head of Investor Relations"),
        ("tom", "Tom Becker", IR, MEMBER, "Investor Relations Manager"),
        ("lena", "Lena Hoffmann", IR, MEMBER, "Investor Relations Associate"),
        ("mateo", "Mateo Silva", IR, MEMBER, "Investor Relations Associate"),
        ("isabel", "Isabel Cruz", "client_reporting", MEMBER, "Client Reporting Lead"),
    ),
    FINANCE: (
        ("helen", "Helen Okafor", "cfo", EXEC, "Chief Financial Officer"),
        ("david", "David Kim", "finance", MEMBER, "Financial Controller"),
        ("amara", "Amara Nwosu", "finance", MEMBER, "Fund Accountant"),
        ("leo", "Leo Fischer", "finance", MEMBER, "FP&A Analyst"),
    ),
}

PEOPLE: tuple[Person, ...] = tuple(
    Person(user_id, name, job_role, team, role, title, f"{user_id}@{EMAIL_DOMAIN}")
    for team, rows in _TEAMS.items()
    for user_id, name, job_role, role, title in rows
)
"""The roster, leadership first, then team by team."""

BY_ID: Mapping[str, Person] = {person.user_id: person for person in PEOPLE}


def roster_details(person: Person) -> dict[str, Any]:
    """What the directory records of one person of the roster (``Directory.provision``)."""
    return {
        "name": person.name, "job_role": person.job_role, "team": person.team,
        "title": person.title, "email": person.email,
    }  # fmt: skip
