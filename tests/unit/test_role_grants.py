"""Which okrgov roles a provider's claims grant (``policies.role_grants``): claim paths,
nested ones included; one text or a list of texts; directory groups counted only as the
``groups`` claim; a malformed mapping refused naming the key and the rule."""

from typing import Any

import pytest

from policies.role_grants import InvalidRoleGrants, RoleGrants, role_grants

ROLES = ("member", "executive", "risk_officer", "compliance", "admin")


def mapping(role_claims: list[str], **grants: list[str]) -> dict[str, Any]:
    return {"identity": {"role_claims": role_claims, "role_grants": grants}}


SHIPPED = role_grants(
    mapping(
        ["roles", "groups"],
        **{
            "okrgov-executives": ["executive"],
            "okrgov-risk-officers": ["risk_officer"],
            "okrgov-members": ["member"],
        },
    ),
    ROLES,
)


@pytest.mark.parametrize(
    ("claims", "roles"),
    [
        ({"groups": ["okrgov-executives"]}, ["executive"]),
        ({"groups": "okrgov-executives"}, ["executive"]),  # one text, not a list
        (
            {"roles": ["okrgov-members"], "groups": ["okrgov-risk-officers"]},
            ["member", "risk_officer"],
        ),
        ({"groups": ["okrgov-executives", "okrgov-executives"]}, ["executive"]),
        ({"groups": ["Okrgov-Executives", "okrgov-executives "]}, []),  # exact values only
        ({"groups": ["somebody-elses-group"]}, []),
        ({"groups": [7, None, {"name": "okrgov-executives"}, "okrgov-members"]}, ["member"]),
        ({"groups": {"okrgov-executives": True}}, []),
        ({"group": ["okrgov-executives"]}, []),  # a claim the mapping does not read
        ({}, []),
    ],
    ids=repr,
)
def test_claims_grant_the_roles_their_values_are_mapped_to(
    claims: dict[str, Any], roles: list[str]
) -> None:
    assert SHIPPED.roles_for(claims) == roles


def test_a_dotted_claim_path_reads_a_nested_claim() -> None:
    keycloak = role_grants(
        mapping(
            ["realm_access.roles", "resource_access.okrgov.roles"],
            okr_exec=["executive"],
            okr_admin=["admin"],
        ),
        ROLES,
    )
    claims = {
        "realm_access": {"roles": ["okr_exec", "offline_access"]},
        "resource_access": {"okrgov": {"roles": "okr_admin"}},
    }
    assert keycloak.roles_for(claims) == ["admin", "executive"]
    assert keycloak.values(claims) == ["offline_access", "okr_admin", "okr_exec"]
    # Not a nested object where the path expects one: nothing, not an error.
    for odd in (
        {"realm_access": ["okr_exec"]},
        {"realm_access": "okr_exec"},
        {"realm_access.roles": ["okr_exec"]},
    ):
        assert keycloak.roles_for(odd) == []


def test_directory_groups_count_only_when_groups_is_a_role_claim() -> None:
    assert SHIPPED.roles_for({}, groups=["okrgov-executives"]) == ["executive"]
    assert SHIPPED.roles_for({"groups": ["okrgov-members"]}, ["okrgov-executives"]) == [
        "executive",
        "member",
    ]
    roles_only = role_grants(mapping(["roles"], **{"okrgov-executives": ["executive"]}), ROLES)
    assert roles_only.roles_for({}, groups=["okrgov-executives"]) == []
    assert roles_only.roles_for({"roles": "okrgov-executives"}, ["x"]) == ["executive"]


def test_one_value_may_grant_several_roles_and_holders_are_listed() -> None:
    grants = role_grants(
        mapping(["groups"], board=["executive", "risk_officer", "executive"], chiefs=["executive"]),
        ROLES,
    )
    assert grants.grants["board"] == ("executive", "risk_officer")
    assert grants.roles_for({"groups": ["board"]}) == ["executive", "risk_officer"]
    assert grants.holders_of("executive") == ["board", "chiefs"]
    assert grants.holders_of("admin") == []


def test_no_identity_data_grants_nothing() -> None:
    assert role_grants({}, ROLES) == RoleGrants()
    assert RoleGrants().roles_for({"groups": ["okrgov-executives"]}, ["okrgov-executives"]) == []


def test_an_unknown_role_is_refused_naming_the_key_and_the_roles_there_are() -> None:
    with pytest.raises(InvalidRoleGrants) as refused:
        role_grants(mapping(["groups"], **{"okrgov-executives": ["executive", "ceo"]}), ROLES)
    message = str(refused.value)
    assert "identity.role_grants['okrgov-executives']" in message
    assert "'ceo'" in message and "no okrgov role" in message
    assert "risk_officer" in message  # what it could have said


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"identity": ["groups"]}, "identity must be an object"),
        ({"identity": {"role_claims": "groups"}}, "identity.role_claims"),
        ({"identity": {"role_claims": ["groups", ""]}}, "identity.role_claims"),
        ({"identity": {"role_claims": [3]}}, "identity.role_claims"),
        ({"identity": {"role_grants": [["a", "executive"]]}}, "identity.role_grants must map"),
        ({"identity": {"role_grants": {"a": "executive"}}}, "identity.role_grants['a']"),
        ({"identity": {"role_grants": {"a": [1]}}}, "identity.role_grants['a']"),
    ],
    ids=repr,
)
def test_a_malformed_mapping_is_refused_naming_the_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidRoleGrants) as refused:
        role_grants(data, ROLES)
    assert key in str(refused.value)
