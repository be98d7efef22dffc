"""Who sees what, route by route and role by role, like the write matrix: the OKRs, the
policies and the snapshots are read by every role; the firm-wide record (the audit trail,
the compliance views, the integrity check, everyone's decisions and denied attempts) by
compliance, executives and risk officers; members and admins see their own decisions and
tokens only; the people directory is read by oversight and admins, anyone their own
entry; a token without roles reads nothing; no token, nothing but the public pages.

Every GET route of the application must have a row here, so a new route cannot be added
without saying who may read it. Over 300 lines: the matrix and the tests that read it stay
together, so who reads a route is said in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from e2e_support import ok, position
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from services.api.routes import ROUTERS
from services.application.recorded_decisions import recorded_decisions
from services.bootstrap import Platform

AuthHeaders = Callable[..., dict[str, str]]

ROLES = {
    "owner": ("tom", "member"),
    "member": ("lena", "member"),
    "executive": ("priya", "executive"),
    "risk_officer": ("ana", "risk_officer"),
    "compliance": ("marcus", "compliance"),
    "admin": ("sam", "admin"),
    "no_role": ("nobody",),
}
EVERY_ROLE = {role for role in ROLES if role != "no_role"}
OVERSIGHT = {"executive", "risk_officer", "compliance"}

#: GET route (and the read-only simulate) -> the roles that get 200; every other role 403.
READERS: dict[tuple[str, str], set[str]] = {
    ("GET", "/v1/cycles"): EVERY_ROLE,
    ("GET", "/v1/cycles/{cycle_id}"): EVERY_ROLE,
    ("GET", "/v1/cycles/{cycle_id}/snapshot"): EVERY_ROLE,
    ("GET", "/v1/cycles/{cycle_id}/snapshot/export"): EVERY_ROLE,
    ("GET", "/v1/cycles/{cycle_id}/snapshot/verify"): EVERY_ROLE,
    ("GET", "/v1/objectives"): EVERY_ROLE,
    ("GET", "/v1/objectives/{objective_id}"): EVERY_ROLE,
    ("GET", "/v1/key-results"): EVERY_ROLE,
    ("GET", "/v1/key-results/{key_result_id}"): EVERY_ROLE,
    ("GET", "/v1/key-results/{key_result_id}/check-ins"): EVERY_ROLE,
    ("GET", "/v1/key-results/{key_result_id}/history"): EVERY_ROLE,
    ("GET", "/v1/change-requests"): EVERY_ROLE,
    ("GET", "/v1/change-requests/{change_request_id}"): EVERY_ROLE,
    ("GET", "/v1/policies"): EVERY_ROLE,
    ("GET", "/v1/policies/active"): EVERY_ROLE,
    ("GET", "/v1/policies/{policy_id}"): EVERY_ROLE,
    ("GET", "/v1/policies/{policy_id}/diff"): EVERY_ROLE,
    ("GET", "/v1/decisions"): EVERY_ROLE,  # their own, unless they oversee (below)
    ("GET", "/v1/decisions/{decision_id}/replay"): OVERSIGHT | {"owner"},  # Tom's denial
    ("GET", "/v1/tokens"): EVERY_ROLE,  # their own, unless admin or compliance (below)
    ("GET", "/v1/people"): EVERY_ROLE,  # their own entry, unless oversight or admin (below)
    ("GET", "/v1/people/{user_id}"): OVERSIGHT | {"admin", "owner"},  # Tom's own entry
    ("POST", "/v1/policies/{policy_id}/simulate"): OVERSIGHT,
    ("GET", "/v1/audit"): OVERSIGHT,
    ("GET", "/v1/compliance/violations"): OVERSIGHT,
    ("GET", "/v1/compliance/changes-after-lock"): OVERSIGHT,
    ("GET", "/v1/compliance/approvals"): OVERSIGHT,
    ("GET", "/v1/compliance/pay-linked"): OVERSIGHT,
    ("GET", "/v1/compliance/over-appetite"): OVERSIGHT,
    ("GET", "/v1/compliance/policy-periods"): OVERSIGHT,
    ("GET", "/v1/compliance/stale-check-ins"): OVERSIGHT,
    ("GET", "/v1/compliance/{view}"): set(),  # an unknown view: 404 for overseers
    ("GET", "/v1/integrity"): OVERSIGHT,
    ("GET", "/v1/integrity/proof/{position}"): OVERSIGHT,
}
#: Answered without a token.
PUBLIC = {"/healthz", "/docs", "/redoc", "/openapi.json"}
#: The SCIM 2.0 service the identity provider provisions the directory through: read (and
#: written) by admins only, answering in SCIM's own error format (below).
SCIM = "/scim/v2/"


def read_routes() -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
        if method == "GET"
    }


def test_every_read_route_says_who_reads_it() -> None:
    assert read_routes() == {route for route in READERS if route[0] == "GET"}


@pytest.fixture
def quarter(
    client: TestClient, platform: Platform, auth: AuthHeaders, locked_world: dict[str, str]
) -> dict[str, Any]:
    """A quarter with a request decided after lock, a denied attempt by each member, then
    closed, sealed and checkpointed; and a proposed policy version."""
    priya, tom, lena = auth("priya", "executive"), auth("tom", "member"), auth("lena", "member")
    request = ok(
        client.post(
            "/v1/change-requests",
            json={
                "key_result_id": locked_world["key_result"],
                "changes": {"target": 10},
                "reason": "slipped",
            },
            headers=tom,
        ),
        201,
    )
    ok(client.post(f"/v1/change-requests/{request['id']}/approve", headers=priya))
    # A denied attempt each, after lock: Tom edits his key result, Lena adds an objective.
    edit = client.patch(
        f"/v1/key-results/{locked_world['key_result']}", json={"target": 9}, headers=tom
    )
    assert edit.status_code == 409, edit.text
    added = client.post(
        "/v1/objectives",
        json={
            "cycle_id": locked_world["cycle"],
            "title": "Faster onboarding for new LPs",
            "owner": "lena",
            "level": "team",
            "commitment": "committed",
        },
        headers=lena,
    )
    assert added.status_code == 409, added.text
    ok(
        client.post(
            f"/v1/cycles/{locked_world['cycle']}/close",
            json={"reason": "closed early in a test"},
            headers=priya,
        )
    )
    ok(client.post(f"/v1/cycles/{locked_world['cycle']}/seal", headers=priya))
    ana = auth("ana", "risk_officer")
    active = ok(client.get("/v1/policies/active", headers=ana))
    proposal = ok(
        client.post(
            "/v1/policies",
            json={"modules": active["modules"], "data": active["data"], "description": "same"},
            headers=ana,
        ),
        201,
    )
    for user, name in (("tom", "Tom Becker"), ("lena", "Lena Fischer")):
        platform.directory.provision(user, {"name": name}, by="sam")
    platform.catch_up()
    [tom_denied] = [
        d
        for d in recorded_decisions(platform.ledger)
        if d.actor == "tom" and d.answer.outcome == "denied"
    ]
    integrity = platform.evidence.signing()
    integrity.follower.catch_up()
    assert integrity.record_checkpoint("for the read matrix") is not None
    return {
        **locked_world,
        "change_request": request["id"],
        "policy": proposal["id"],
        "position": 1,
        "view": "not-a-view",
        "decision": str(tom_denied.id),
    }


def _call(
    client: TestClient, route: tuple[str, str], quarter: dict[str, Any], headers: dict[str, str]
) -> Any:
    method, template = route
    path = template.format(
        cycle_id=quarter["cycle"],
        objective_id=quarter["objective"],
        key_result_id=quarter["key_result"],
        change_request_id=quarter["change_request"],
        policy_id=quarter["policy"],
        position=quarter["position"],
        view=quarter["view"],
        decision_id=quarter["decision"],
        user_id="tom",
    )
    body = {"cycle_id": quarter["cycle"]} if method == "POST" else None
    # One engine is enough to say who may replay a decision (and OPA's may be missing).
    query = {"engine": "embedded"} if path.endswith("/replay") else None
    if path.endswith("/diff"):  # against itself: no change, but read all the same
        query = {"against": quarter["policy"]}
    return client.request(method, path, json=body, params=query, headers=headers)


def _as(role: str, auth: AuthHeaders, platform: Platform) -> dict[str, str]:
    """Reading as someone in this role, as of everything recorded so far."""
    return {**auth(*ROLES[role]), "X-Okrgov-Min-Position": str(position(platform))}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_who_reads_each_route(
    client: TestClient,
    platform: Platform,
    auth: AuthHeaders,
    quarter: dict[str, Any],
    role: str,
) -> None:
    headers = _as(role, auth, platform)
    for route, readers in READERS.items():
        answer = _call(client, route, quarter, headers)
        if role in readers:
            assert answer.status_code == 200, (role, route, answer.text)
        elif route == ("GET", "/v1/compliance/{view}") and role in OVERSIGHT:
            assert answer.status_code == 404, (role, route, answer.text)
        else:
            assert answer.status_code == 403, (role, route, answer.text)
            assert answer.json()["error"]["code"] == "forbidden"


def test_without_a_token_only_the_public_pages_answer(
    client: TestClient, quarter: dict[str, Any]
) -> None:
    for route in READERS:
        answer = _call(client, route, quarter, {})
        assert answer.status_code == 401, (route, answer.text)
    for path in PUBLIC:
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("role", sorted(EVERY_ROLE))
def test_decisions_and_tokens_of_others_are_oversight(
    client: TestClient,
    platform: Platform,
    auth: AuthHeaders,
    quarter: dict[str, Any],
    role: str,
) -> None:
    user = ROLES[role][0]
    headers = _as(role, auth, platform)
    decisions = ok(client.get("/v1/decisions", params={"limit": 1000}, headers=headers))["items"]
    actors = {d["actor"] for d in decisions}
    denied = {d["actor"] for d in decisions if d["outcome"] == "denied"}
    if role in OVERSIGHT:
        assert {"priya", "tom", "lena"} <= actors
        assert {"tom", "lena"} <= denied  # others' denied attempts are theirs to read
    else:
        assert actors <= {user}
        asked = client.get("/v1/decisions", params={"actor": "priya"}, headers=headers)
        assert asked.status_code == 403
    if role == "owner":
        assert denied == {"tom"}  # Tom sees his own denied attempt, not Lena's
    tokens = ok(client.get("/v1/tokens", headers=headers))["items"]
    subjects = {t["subject"] for t in tokens}
    if role in ("admin", "compliance"):
        assert {"tom", "lena", "priya"} <= subjects
    else:
        assert subjects == {user}
    people = {p["user_id"] for p in ok(client.get("/v1/people", headers=headers))["items"]}
    if role in OVERSIGHT or role == "admin":
        assert people == {"tom", "lena"}
    else:
        assert people == ({user} & {"tom", "lena"})  # their own entry, if the directory has one


def test_the_read_matrix_covers_the_whole_api(app: FastAPI) -> None:
    """Every path of the OpenAPI document is a read in the matrix, a write in the write
    matrix (test_api_contract), or public."""
    documented = {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method.upper() == "GET"
    }
    scim = {route for route in documented if route[1].startswith(SCIM)}
    assert documented - set(READERS) - scim <= {("GET", p) for p in PUBLIC}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_the_scim_service_is_read_by_admins_only(
    app: FastAPI, client: TestClient, auth: AuthHeaders, role: str
) -> None:
    """Every SCIM read: admins get it (404 for an id nobody has), anyone else 403, no
    token 401."""
    reads = sorted(
        path
        for path, item in app.openapi()["paths"].items()
        if path.startswith(SCIM) and "get" in item
    )
    assert reads, "no SCIM read is documented"
    for template in reads:
        path = template.format(
            user_id="nobody-here",
            group_id="4a6c4f0e-2b7d-4d0a-9a57-0d6d0e7c1f00",
            schema_id="urn:ietf:params:scim:schemas:core:2.0:User",
            name="User",
        )
        answer = client.get(path, headers=auth(*ROLES[role]))
        expected = {200, 404} if role == "admin" else {403}
        assert answer.status_code in expected, (role, path, answer.text)
        assert client.get(path).status_code == 401, path
