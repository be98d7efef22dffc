"""The people directory on both backends: provisioning, changes, deactivation and groups
are events naming who made them; every process reads the same directory from the store;
what a person's claims grant follows their groups through the active role mapping."""

from __future__ import annotations

import pytest

from events.errors import InvalidValue, NotFound
from events.identity import InvalidUserId
from infra.tokens import InvalidToken
from services.application.directory import Directory
from services.application.errors import Conflict
from services.bootstrap import Platform

MO = {"name": "Mo Chen", "email": "mo@northbridge.example", "job_role": "investor_relations"}


def test_a_person_is_provisioned_changed_and_deactivated_as_events(platform: Platform) -> None:
    directory = platform.directory
    provisioned = directory.provision(" MO ", MO, by="scim-client", reason="hired")
    person = directory.find("mo")
    assert person is not None and person.active and person.name == "Mo Chen"
    assert person.job_role == "investor_relations"

    assert directory.update("mo", {"team": "Investor Relations"}, by="scim-client").position
    unchanged = directory.update("mo", {"team": "Investor Relations"}, by="scim-client")
    assert unchanged.position == 0  # nothing changed: nothing recorded
    assert directory.set_active("mo", False, by="scim-client", reason="left").position
    assert directory.is_deactivated("mo")
    assert directory.set_active("mo", False, by="scim-client").position == 0

    events = list(platform.ledger.repository.event_store.get(provisioned.id))
    said = [(type(e).__qualname__, e.actor) for e in events]
    assert said == [
        ("Person.Provisioned", "scim-client"),
        ("Person.Updated", "scim-client"),
        ("Person.Deactivated", "scim-client"),
    ]
    assert events[1].changes == {"team": "Investor Relations"}
    assert events[2].reason == "left"


def test_bad_directory_input_names_the_field(platform: Platform) -> None:
    directory = platform.directory
    with pytest.raises(InvalidUserId):
        directory.provision("mo chen", MO, by="okrgov")
    with pytest.raises(InvalidValue) as unknown:
        directory.provision("mo", {"salary": "1"}, by="okrgov")
    assert unknown.value.field == "salary"
    with pytest.raises(InvalidValue) as long:
        directory.provision("mo", {"name": "x" * 300}, by="okrgov")
    assert long.value.field == "name"
    assert directory.find("mo") is None  # nothing half-written
    directory.provision("mo", MO, by="okrgov")
    with pytest.raises(Conflict):
        directory.provision("Mo", MO, by="okrgov")
    with pytest.raises(NotFound):
        directory.update("nobody", {"name": "N"}, by="okrgov")


def test_every_process_reads_the_same_directory(platform: Platform) -> None:
    other = Directory(platform.ledger, platform.ledger.recorder, platform.ledger.mapper, 0.0)
    platform.directory.provision("mo", MO, by="okrgov")
    platform.directory.set_active("mo", False, by="okrgov")
    assert other.is_deactivated("mo")
    assert other.names() == {"mo": "Mo Chen"}
    assert platform.names == {"mo": "Mo Chen"}  # pages and reports resolve names here


def test_groups_carry_members_and_grant_roles_through_the_mapping(platform: Platform) -> None:
    directory, auth = platform.directory, platform.authentication
    directory.provision("mo", MO, by="okrgov")
    assert auth.from_claims({"sub": "mo"}).roles == frozenset()

    group = directory.create_group("okrgov-executives", ["mo"], by="scim-client")
    assert directory.find("mo").groups == ("okrgov-executives",)  # type: ignore[union-attr]
    assert {r.value for r in auth.from_claims({"sub": "mo"}).roles} == {"executive"}

    directory.change_group(group.id, by="scim-client", members=[])
    assert {
        r.value for r in auth.from_claims({"sub": "mo", "groups": ["okrgov-members"]}).roles
    } == {"member"}
    with pytest.raises(Conflict):
        directory.create_group("okrgov-executives", [], by="scim-client")
    directory.delete_group(group.id, by="scim-client")
    assert directory.groups() == []


def test_a_deactivated_person_is_refused_whatever_they_present(platform: Platform) -> None:
    token = platform.tokens.create("mo", ["member"])
    assert platform.authentication.bearer(token).user == "mo"
    platform.directory.provision("mo", MO, by="okrgov")
    platform.directory.set_active("mo", False, by="okrgov")
    with pytest.raises(InvalidToken, match="deactivated"):
        platform.authentication.bearer(token)
    with pytest.raises(InvalidToken, match="deactivated"):
        platform.authentication.from_claims({"sub": "mo", "groups": ["okrgov-members"]})
    platform.directory.set_active("mo", True, by="okrgov", reason="rehired")
    assert platform.authentication.bearer(token).user == "mo"
