"""SCIM 2.0 provisioning, driven by a real SCIM client (scim2-client) over the API: people
created, found by filter, replaced, patched as Entra ID and Okta patch them, deactivated
(their okrgov token then refused on ``/v1``), groups created and their members changed;
the directory reflects each step, and the audit trail names the provisioning token's user
as the one who changed whom; and every refusal answers as a SCIM error naming what is wrong.

Over 300 lines: the provisioning conversations and the refusals share one client, one set
of payloads and one error check, kept together so they change together."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from oidc_provider import running_provider
from scim2_client import BaseSyncSCIMClient
from scim2_client.client import RawResponse
from scim2_models import (
    Context,
    Email,
    EnterpriseUser,
    Group,
    GroupMember,
    Name,
    PatchOp,
    ResourceType,
    ScimProvider,
    User,
)

from infra.config import Settings
from services.api import create_app
from services.api.scim.resources import JOB_ROLE_SCHEMA, POLICY, OkrgovUser, ScimUser
from services.bootstrap import Platform, build

AuthHeaders = Callable[..., dict[str, str]]
#: scim2-client answers a union (the resource, an ``Error``, or a dict); it raises on an
#: error answer here, so the tests read what it returns as the resource.
Scim = Any
PROVISIONER = "scim-provisioner"
SCIM_JSON = "application/scim+json"


class ScimOverTestClient(BaseSyncSCIMClient):
    """scim2-client's synchronous client over FastAPI's ``TestClient`` (an httpx client):
    the requests go through the whole application, middleware and bearer check included."""

    def __init__(self, client: httpx.Client, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        return str(self.client.build_request("GET", endpoint).url).startswith(
            str(self.client.base_url).rstrip("/")
        )

    def _parse_json(self, response: RawResponse) -> Any:
        assert isinstance(response, httpx.Response)
        return response.json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, url, **kwargs)


@pytest.fixture
def provisioning(app: FastAPI, auth: AuthHeaders) -> Iterator[TestClient]:
    """An HTTP client at ``/scim/v2`` with an admin token of the provisioning user."""
    headers = auth(PROVISIONER, "admin")
    with TestClient(app, base_url="http://testserver/scim/v2", headers=headers) as http:
        yield http


@pytest.fixture
def scim(provisioning: TestClient) -> Scim:
    provider = ScimProvider(
        models=[User, EnterpriseUser, OkrgovUser, Group],
        resource_types=[ResourceType.from_resource(ScimUser), ResourceType.from_resource(Group)],
        policy=POLICY,
    )
    return ScimOverTestClient(provisioning, provider=provider)


def mo() -> Any:
    user = ScimUser(
        user_name="Mo@Example.com",
        display_name="Mo Patel",
        name=Name(given_name="Mo", family_name="Patel"),
        emails=[Email(value="mo@example.com", primary=True, type=Email.Type.work)],
        title="Head of Investor Relations",
        external_id="entra-0001",
    )
    user[EnterpriseUser] = EnterpriseUser(department="Investor Relations")
    user[OkrgovUser] = OkrgovUser(job_role="investor_relations")
    return user


PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def test_a_person_is_provisioned_changed_and_deactivated(
    scim: Scim, platform: Platform, client: TestClient, auth: AuthHeaders
) -> None:
    created = scim.create(mo())
    assert created.id == "mo@example.com"  # the okrgov user id: the canonical userName
    person = platform.directory.find("mo@example.com")
    assert person is not None and person.active
    assert (person.name, person.email, person.title) == (
        "Mo Patel", "mo@example.com", "Head of Investor Relations",
    )  # fmt: skip
    assert (person.team, person.job_role, person.external_id) == (
        "Investor Relations", "investor_relations", "entra-0001",
    )  # fmt: skip

    found = scim.query(ScimUser, query_parameters={"filter": 'userName eq "MO@example.COM"'})
    assert [u.id for u in found.resources] == ["mo@example.com"]
    by_external = scim.query(ScimUser, query_parameters={"filter": 'externalId eq "entra-0001"'})
    assert by_external.total_results == 1
    nobody = scim.query(ScimUser, query_parameters={"filter": 'userName eq "ghost"'})
    assert nobody.total_results == 0 and not nobody.resources

    replacement = scim.query(ScimUser, "mo@example.com")
    replacement.title = "Chief Investor Relations Officer"
    replacement[EnterpriseUser] = None  # a replacement that leaves the team out clears it
    scim.replace(replacement)
    person = platform.directory.find("mo@example.com")
    assert person is not None
    assert (person.title, person.team) == ("Chief Investor Relations Officer", "")

    mo_token = auth("mo@example.com", "member")
    assert client.get("/v1/cycles", headers=mo_token).status_code == 200
    # Entra ID deactivates with a string "False"; Okta replaces without a path.
    entra = patch({"op": "Replace", "path": "active", "value": "False"})
    deactivated = scim.modify(ScimUser, "mo@example.com", entra, check_request_payload=False)
    assert deactivated.active is False
    assert platform.directory.is_deactivated("mo@example.com")
    refused = client.get("/v1/cycles", headers=mo_token)
    assert refused.status_code == 401, refused.text

    okta = patch({"op": "replace", "value": {"active": True, "displayName": "Mohammed Patel"}})
    scim.modify(ScimUser, "mo@example.com", okta, check_request_payload=False)
    person = platform.directory.find("mo@example.com")
    assert person is not None and person.active and person.name == "Mohammed Patel"
    assert client.get("/v1/cycles", headers=mo_token).status_code == 200

    scim.delete(ScimUser, "mo@example.com")
    assert platform.directory.is_deactivated("mo@example.com")
    kept = scim.query(ScimUser, "mo@example.com")  # the directory keeps the person
    assert kept.active is False
    assert client.get("/v1/cycles", headers=mo_token).status_code == 401


def _member(user: str) -> GroupMember:
    return GroupMember.model_validate({"value": user})


def _provision(scim: Scim, *users: str) -> None:
    for user in users:
        scim.create(ScimUser(user_name=user, display_name=user.title()))


def test_groups_and_their_members(scim: Scim, platform: Platform) -> None:
    _provision(scim, "rick", "rita", "mo")
    group = Group(
        display_name="okrgov-risk-officers",
        external_id="entra-group-7",
        members=[_member("rick")],
    )
    created = scim.create(group)
    assert created.id is not None
    assert [m.value for m in created.members or ()] == ["rick"]
    assert platform.directory.people()["rick"].groups == ("okrgov-risk-officers",)

    add = PatchOp[Group].model_validate(
        patch({"op": "add", "path": "members", "value": [{"value": "rita"}]})
    )
    added = scim.modify(Group, created.id, add)
    assert sorted(m.value for m in added.members or ()) == ["rick", "rita"]
    # Okta removes by a filter path; Entra ID by a value listing the members.
    okta = patch({"op": "remove", "path": 'members[value eq "rick"]'})
    scim.modify(Group, created.id, okta, check_request_payload=False)
    entra = patch({"op": "Remove", "path": "members", "value": [{"value": "rita"}]})
    emptied = scim.modify(Group, created.id, entra, check_request_payload=False)
    assert not emptied.members
    assert platform.directory.people()["rita"].groups == ()

    renamed = patch({"op": "replace", "value": {"id": created.id, "displayName": "okrgov-members"}})
    scim.modify(Group, created.id, renamed, check_request_payload=False)
    listed = scim.query(Group, query_parameters={"filter": 'displayName eq "okrgov-members"'})
    assert [g.id for g in listed.resources] == [created.id]
    assert listed.resources[0].external_id == "entra-group-7"

    scim.replace(Group(id=created.id, display_name="okrgov-members", members=[
        _member("mo"), _member("rick"),
    ]))  # fmt: skip
    record = platform.directory.group(UUID(created.id))
    assert record is not None and record.members == ["mo", "rick"]
    slim = scim.query(Group, query_parameters={"excludedAttributes": "members"})
    assert [g.members for g in slim.resources] == [None]  # as Entra ID lists groups
    user = scim.query(ScimUser, "mo")
    assert [(g.value, g.display) for g in user.groups or ()] == [(created.id, "okrgov-members")]

    scim.delete(Group, created.id)
    assert platform.directory.group(UUID(created.id)) is None
    assert platform.directory.people()["mo"].groups == ()


def test_the_audit_trail_names_who_changed_whom(
    provisioning: TestClient, client: TestClient, auth: AuthHeaders
) -> None:
    payload = mo().model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    created = provisioning.post("/Users", json=payload)
    assert created.status_code == 201, created.text
    group = provisioning.post("/Groups", json={
        "schemas": [GROUP],
        "displayName": "okrgov-members", "members": [{"value": "mo@example.com"}],
    })  # fmt: skip
    assert group.status_code == 201, group.text
    deleted = provisioning.delete("/Users/mo@example.com")
    assert deleted.status_code == 204
    position = deleted.headers["X-Okrgov-Position"]

    marcus = {**auth("marcus", "compliance"), "X-Okrgov-Min-Position": position}
    trail = client.get("/v1/audit", params={"actor": PROVISIONER}, headers=marcus)
    assert trail.status_code == 200, trail.text
    entries = trail.json()["items"]
    actions = [(e["action"], e["actor"]) for e in entries]
    assert actions == [
        ("Person.Provisioned", PROVISIONER),
        ("Group.Created", PROVISIONER),
        ("Group.MembersChanged", PROVISIONER),
        ("Person.Deactivated", PROVISIONER),
    ]
    provisioned = entries[0]["changes"]
    assert provisioned["user_id"]["after"] == "mo@example.com"
    assert entries[2]["changes"]["added"]["after"] == ["mo@example.com"]


def test_the_job_role_extension_and_paging(provisioning: TestClient) -> None:
    """The raw payload an identity provider sends (``application/scim+json``), the job
    role in okrgov's extension; a collection paged by ``startIndex`` and ``count``."""
    for user in ("ann", "bob", "cy"):
        body = {
            "schemas": [USER, JOB_ROLE_SCHEMA],
            "userName": user,
            JOB_ROLE_SCHEMA: {"jobRole": "portfolio_manager"},
        }
        answer = provisioning.post(
            "/Users", content=json.dumps(body), headers={"Content-Type": SCIM_JSON}
        )
        assert answer.status_code == 201, answer.text
        assert answer.headers["content-type"] == SCIM_JSON
        assert answer.headers["Location"].endswith(f"/scim/v2/Users/{user}")
        assert answer.json()[JOB_ROLE_SCHEMA] == {"jobRole": "portfolio_manager"}
    second = provisioning.get("/Users", params={"startIndex": 2, "count": 1}).json()
    assert (second["totalResults"], second["startIndex"], second["itemsPerPage"]) == (3, 2, 1)
    assert [u["id"] for u in second["Resources"]] == ["bob"]
    slim = provisioning.get("/Users", params={"attributes": "userName"}).json()
    assert set(slim["Resources"][0]) == {"schemas", "id", "userName"}


def test_discovery(scim: Scim) -> None:
    scim.discover()
    provider = scim.provider
    assert provider is not None
    config = provider.config
    assert config is not None and config.patch is not None and config.patch.supported
    assert config.filter is not None and config.filter.supported
    user_type = next(t for t in provider.resource_types or () if t.id == "User")
    extensions = [str(e.schema_) for e in user_type.schema_extensions or ()]
    assert JOB_ROLE_SCHEMA in extensions


def _error(answer: httpx.Response, status: int, scim_type: str | None = None) -> str:
    """The SCIM error of a refused request (never the ``/v1`` error shape)."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == SCIM_JSON
    body = answer.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    return str(body["detail"])


def test_who_may_provision(app: FastAPI, auth: AuthHeaders) -> None:
    with TestClient(app, base_url="http://testserver/scim/v2") as http:
        missing = http.get("/Users")
        _error(missing, 401)
        assert missing.headers["WWW-Authenticate"] == "Bearer"
        _error(http.get("/Users", headers={"Authorization": "Bearer nonsense"}), 401)
        _error(http.get("/Users", headers=auth("tom", "member")), 403)
        _error(http.post("/Users", json={}, headers=auth("marcus", "compliance")), 403)
        _error(http.get("/ServiceProviderConfig"), 401)


BAD_USERS = [
    ({"schemas": [USER]}, "invalidValue", "userName"),
    ({"schemas": [USER], "userName": 7}, "invalidValue", "userName"),
    ({"schemas": [USER], "userName": "pri ya"}, "invalidValue", "userName"),
    ({"schemas": [USER], "userName": "x", "active": "maybe"}, "invalidValue", "active"),
    ({"schemas": [USER], "userName": "x", "emails": "x@y.z"}, "invalidValue", "emails"),
    ({"schemas": [USER], "userName": "x", "displayName": "n" * 300}, "invalidValue", "displayName"),
    ({"schemas": [USER], "userName": "x", "title": "t" * 300}, "invalidValue", "title"),
]


@pytest.mark.parametrize(("body", "scim_type", "named"), BAD_USERS)
def test_bad_users_are_refused_naming_the_attribute(
    provisioning: TestClient, platform: Platform, body: dict[str, Any], scim_type: str, named: str
) -> None:
    assert named in _error(provisioning.post("/Users", json=body), 400, scim_type)
    assert platform.directory.find("x") is None


def test_refusals(provisioning: TestClient) -> None:
    _provision_raw(provisioning, "mo")
    _error(
        provisioning.post("/Users", content=b"{nope", headers={"Content-Type": SCIM_JSON}),
        400,
        "invalidSyntax",
    )
    _error(provisioning.post("/Users", json=["a list"]), 400, "invalidSyntax")
    assert "mo" in _error(
        provisioning.post("/Users", json={"schemas": [USER], "userName": "MO"}), 409, "uniqueness"
    )
    _error(provisioning.get("/Users", params={"filter": "userName eq"}), 400, "invalidFilter")
    _error(provisioning.get("/Users", params={"filter": 'shoeSize eq "9"'}), 400, "invalidFilter")
    _error(provisioning.get("/Users/ghost"), 404)
    _error(provisioning.delete("/Users/ghost"), 404)
    _error(provisioning.get("/Groups/not-a-uuid"), 404)
    _error(provisioning.post("/Bulk", json={}), 404)
    _error(provisioning.put("/Users", json={}), 404)
    renamed = {"schemas": [USER], "userName": "someone-else"}
    assert "userName" in _error(provisioning.put("/Users/mo", json=renamed), 400, "mutability")
    rename = patch({"op": "replace", "path": "userName", "value": "someone-else"})
    _error(provisioning.patch("/Users/mo", json=rename), 400, "mutability")
    _error(
        provisioning.patch("/Users/mo", json=patch({"op": "jump", "path": "title"})),
        400,
        "invalidValue",
    )
    _error(provisioning.patch("/Users/mo", json=patch({"op": "remove"})), 400, "noTarget")
    _error(provisioning.patch("/Users/mo", json={"schemas": [PATCH_OP]}), 400, "invalidValue")
    ghost_member = {"schemas": [GROUP], "displayName": "g", "members": [{"value": "ghost"}]}
    assert "members" in _error(provisioning.post("/Groups", json=ghost_member), 400, "invalidValue")
    _error(provisioning.post("/Groups", json={"schemas": [GROUP]}), 400, "invalidValue")
    group = provisioning.post("/Groups", json={"schemas": [GROUP], "displayName": "g"})
    assert group.status_code == 201, group.text
    again = provisioning.post("/Groups", json={"schemas": [GROUP], "displayName": "g"})
    _error(again, 409, "uniqueness")
    unnamed = patch({"op": "remove", "path": "displayName"})
    _error(provisioning.patch(f"/Groups/{group.json()['id']}", json=unnamed), 400, "mutability")


def test_a_bad_query_parameter_is_refused_before_anything_is_recorded(
    provisioning: TestClient, platform: Platform
) -> None:
    body = {"schemas": [USER], "userName": "x"}
    answer = provisioning.post("/Users", params={"attribute": "userName"}, json=body)
    assert "attribute" in _error(answer, 400, "invalidSyntax")
    assert platform.directory.find("x") is None


def _provision_raw(provisioning: TestClient, user: str) -> None:
    answer = provisioning.post("/Users", json={"schemas": [USER], "userName": user})
    assert answer.status_code == 201, answer.text


def test_groups_grant_roles_at_sign_in_and_deactivation_stops_the_provider_token(
    tmp_path: Path,
) -> None:
    """Against a real identity provider: the groups SCIM provisions are what the active
    role mapping reads (``okrgov-members`` -> member), so adding and removing a member
    changes what their provider token may do; a deactivated person's token is refused."""
    (tmp_path / "oidc").mkdir()
    with running_provider(tmp_path / "oidc") as provider:
        settings = Settings(
            data_dir=tmp_path / "data",
            secret_key="test-secret-of-enough-length-for-hs256",
            oidc_issuer=provider.issuer,
        )
        platform = build(settings)
        platform.start()
        try:
            admin = {"Authorization": f"Bearer {platform.tokens.create(PROVISIONER, ['admin'])}"}
            nobody = {"Authorization": f"Bearer {provider.id_token('nobody')}"}
            with TestClient(create_app(platform)) as client:
                # No groups, no role: a token without roles reads nothing.
                assert client.get("/v1/cycles", headers=nobody).status_code == 403
                user = {"schemas": [USER], "userName": "nobody"}
                assert client.post("/scim/v2/Users", json=user, headers=admin).status_code == 201
                members = {"schemas": [GROUP], "displayName": "okrgov-members"}
                group = client.post(
                    "/scim/v2/Groups",
                    json={**members, "members": [{"value": "nobody"}]},
                    headers=admin,
                )
                assert group.status_code == 201, group.text
                assert client.get("/v1/cycles", headers=nobody).status_code == 200

                leave = patch({"op": "remove", "path": 'members[value eq "nobody"]'})
                path = f"/scim/v2/Groups/{group.json()['id']}"
                assert client.patch(path, json=leave, headers=admin).status_code == 200
                assert client.get("/v1/cycles", headers=nobody).status_code == 403

                rejoin = patch({"op": "add", "path": "members", "value": [{"value": "nobody"}]})
                assert client.patch(path, json=rejoin, headers=admin).status_code == 200
                deleted = client.delete("/scim/v2/Users/nobody", headers=admin)
                assert deleted.status_code == 204
                refused = client.get("/v1/cycles", headers=nobody)
                assert refused.status_code == 401, refused.text
        finally:
            platform.close()
