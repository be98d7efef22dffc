"""Who counts as whom is governed: the role mapping (``identity`` in the guardrail data)
changes only as a policy version, proposed by a risk officer and approved by a second one,
never by the proposer. A version whose mapping does not parse is refused at proposal,
naming the key; the diff says in words who gains which role; and sign-in claims grant the
new role only once the version is approved (``platform.authentication.from_claims``, no
provider needed)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from e2e_support import ANA, OMAR, ok
from fastapi.testclient import TestClient

from policies.proposal_checks import OKRGOV_ROLES
from services.application.principals import Role
from services.bootstrap import Platform

AuthHeaders = Callable[..., dict[str, str]]

COMMITTEE = "okrgov-investment-committee"
CLAIMS = {"sub": "xavier", "groups": [COMMITTEE]}


def _active(client: TestClient, auth: AuthHeaders) -> dict[str, Any]:
    active: dict[str, Any] = ok(client.get("/v1/policies/active", headers=auth(*ANA)))
    return active


def _propose(client: TestClient, auth: AuthHeaders, data: dict[str, Any], description: str) -> Any:
    active = _active(client, auth)
    body = {"modules": active["modules"], "data": data, "description": description}
    return client.post("/v1/policies", json=body, headers=auth(*ANA))


#: A loaded machine may not finish comparing the engines within its budget; approving then
#: needs the acknowledgement (the engines' agreement is not what these tests are about).
ACKNOWLEDGED = {"acknowledge_divergence": True, "reason": "compared in the engine tests"}


def _roles(platform: Platform) -> set[str]:
    return {r.value for r in platform.authentication.from_claims(CLAIMS).roles}


def test_a_new_group_counts_as_executive_only_once_a_second_risk_officer_approves(
    client: TestClient, platform: Platform, auth: AuthHeaders
) -> None:
    active = _active(client, auth)
    data = copy.deepcopy(active["data"])
    data["identity"]["role_grants"][COMMITTEE] = ["executive"]
    assert _roles(platform) == set()

    proposed = ok(_propose(client, auth, data, "the investment committee decides"), 201)
    assert _roles(platform) == set()  # proposed is not approved

    diff = ok(
        client.get(
            f"/v1/policies/{proposed['id']}/diff",
            params={"against": active["id"]},
            headers=auth(*ANA),
        )
    )
    assert [c["summary"] for c in diff["identity"]] == [f"{COMMITTEE} now grants executive"]
    assert diff["identity"][0] | {"summary": None} == {
        "change": "grants",
        "claim_value": COMMITTEE,
        "role": "executive",
        "claim": None,
        "summary": None,
    }

    approve = f"/v1/policies/{proposed['id']}/approve"
    own = client.post(approve, json=ACKNOWLEDGED, headers=auth(*ANA))
    assert own.status_code == 409, own.text
    assert own.json()["error"]["code"] == "four_eyes"
    assert _roles(platform) == set()

    approved = ok(client.post(approve, json=ACKNOWLEDGED, headers=auth(*OMAR)))
    assert (approved["status"], approved["approved_by"]) == ("active", "omar")
    assert _roles(platform) == {"executive"}


def test_taking_a_role_away_is_said_in_words_too(
    client: TestClient, platform: Platform, auth: AuthHeaders
) -> None:
    active = _active(client, auth)
    data = copy.deepcopy(active["data"])
    del data["identity"]["role_grants"]["okrgov-risk-officers"]
    data["identity"]["role_grants"]["okrgov-cro-office"] = ["risk_officer"]
    data["identity"]["role_claims"] = ["groups"]
    proposed = ok(_propose(client, auth, data, "the CRO's office holds risk"), 201)
    diff = ok(
        client.get(
            f"/v1/policies/{proposed['id']}/diff",
            params={"against": active["id"]},
            headers=auth(*ANA),
        )
    )
    assert [c["summary"] for c in diff["identity"]] == [
        "the claim roles is no longer read for roles",
        "okrgov-cro-office now grants risk_officer",
        "okrgov-risk-officers no longer grants risk_officer",
    ]
    rick = {"sub": "rick", "groups": ["okrgov-risk-officers"]}
    assert [r.value for r in platform.authentication.from_claims(rick).roles] == ["risk_officer"]
    approve = f"/v1/policies/{proposed['id']}/approve"
    ok(client.post(approve, json=ACKNOWLEDGED, headers=auth(*OMAR)))
    assert platform.authentication.from_claims(rick).roles == frozenset()


def test_a_malformed_mapping_is_refused_naming_the_key(
    client: TestClient, auth: AuthHeaders
) -> None:
    data = copy.deepcopy(_active(client, auth)["data"])
    data["identity"]["role_grants"][COMMITTEE] = ["boss"]
    refused = _propose(client, auth, data, "a role okrgov does not have")
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "policy_test_failed"
    key = f"identity.role_grants[{COMMITTEE!r}]"
    assert f"{key}: names 'boss', which is no okrgov role" in error["message"]
    assert [(d["field"], d["outcome"]) for d in error["details"]] == [(key, "invalid")]

    data["identity"]["role_grants"] = ["not", "a", "mapping"]
    refused = _propose(client, auth, data, "a list")
    assert refused.status_code == 422, refused.text
    assert "identity.role_grants: must map claim values to role lists" in refused.text
    assert len(ok(client.get("/v1/policies", headers=auth(*ANA)))["items"]) == 1


def test_the_checks_know_every_okrgov_role() -> None:
    assert set(OKRGOV_ROLES) == {r.value for r in Role}
