"""The directory <-> SCIM mapping: a person rendered as a SCIM user and read back gives the
same fields, and the patches Entra ID and Okta send land on the directory's fields (the
team in the enterprise extension, the job role in okrgov's, the e-mail through a filter
path on a person who has none yet, the display name from whichever name changed)."""

from typing import Any

from scim2_models import Context, PatchOp

from services.api.scim.resources import (
    JOB_ROLE_SCHEMA,
    POLICY,
    ScimUser,
    details_of,
    dump,
    to_user,
)
from services.application.people import Person

BASE = "https://okrgov.example/scim/v2"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MO = Person(
    user_id="mo@example.com",
    name="Mo Patel",
    job_role="investor_relations",
    team="Investor Relations",
    title="Head of IR",
    email="mo@example.com",
    external_id="entra-0001",
)


def patched(person: Person, *operations: dict[str, Any]) -> dict[str, str]:
    user = to_user(person, [], BASE)
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations}
    patch = PatchOp[ScimUser].model_validate(
        body, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
    )
    patch.patch(user, scim_policy=POLICY)
    return details_of(user, person.name)


def test_a_person_reads_back_as_the_same_fields() -> None:
    user = to_user(MO, [], BASE)
    assert details_of(user) == {
        "name": "Mo Patel", "email": "mo@example.com", "job_role": "investor_relations",
        "team": "Investor Relations", "title": "Head of IR", "external_id": "entra-0001",
    }  # fmt: skip
    shown = dump(user, Context.RESOURCE_QUERY_RESPONSE)
    assert shown["id"] == shown["userName"] == "mo@example.com"
    assert shown[ENTERPRISE] == {"department": "Investor Relations"}
    assert shown[JOB_ROLE_SCHEMA] == {"jobRole": "investor_relations"}
    assert shown["meta"]["location"] == f"{BASE}/Users/mo@example.com"


def test_entra_id_patches() -> None:
    bare = Person(user_id="mo@example.com", name="Mo Patel", job_role="", team="")
    details = patched(
        bare,
        {"op": "Add", "path": 'emails[type eq "work"].value', "value": "mo@example.com"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Operations"},
        {"op": "Add", "path": f"{JOB_ROLE_SCHEMA}:jobRole", "value": "portfolio_manager"},
        {"op": "Replace", "path": "title", "value": "PM"},
    )
    assert (details["email"], details["team"]) == ("mo@example.com", "Operations")
    assert (details["job_role"], details["title"]) == ("portfolio_manager", "PM")
    assert details["name"] == "Mo Patel"


def test_okta_patches_without_a_path() -> None:
    details = patched(MO, {"op": "replace", "value": {"title": "CIO", "externalId": "okta-9"}})
    assert (details["title"], details["external_id"]) == ("CIO", "okta-9")


def test_the_display_name_follows_the_name_that_changed() -> None:
    formatted = patched(MO, {"op": "replace", "path": "name.formatted", "value": "Mo P."})
    assert formatted["name"] == "Mo P."
    both = {"givenName": "Mohammed", "familyName": "Patel"}
    given = patched(MO, {"op": "replace", "path": "name", "value": both})
    assert given["name"] == "Mohammed Patel"
    # A given name alone is no display name: the one the directory holds stays.
    alone = patched(MO, {"op": "replace", "path": "name.givenName", "value": "Mohammed"})
    assert alone["name"] == "Mo Patel"


def test_removing_an_attribute_clears_the_field() -> None:
    details = patched(MO, {"op": "remove", "path": "emails"}, {"op": "remove", "path": "title"})
    assert (details["email"], details["title"]) == ("", "")
