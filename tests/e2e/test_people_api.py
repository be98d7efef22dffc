"""The people directory through the API: oversight and admins read everyone, filtered by
activity and team; anyone else their own entry; a person's page carries their directory
history (who changed what of them, when, why), with names as the directory gives them
when answered. A deactivated person is refused whatever token they hold, and their open
change request says so (``requester_active``) until they are reactivated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from e2e_support import ok, position
from fastapi.testclient import TestClient

from services.bootstrap import Platform

AuthHeaders = Callable[..., dict[str, str]]

MARCUS, SAM, TOM = ("marcus", "compliance"), ("sam", "admin"), ("tom", "member")


@pytest.fixture
def people(platform: Platform) -> Platform:
    """Tom (Investor Relations) and Lena (Operations), both in okrgov-members; Sam keeps
    the directory."""
    directory = platform.directory
    directory.provision("sam", {"name": "Sam Okoro", "team": "Technology"}, by="sam")
    directory.provision(
        "tom",
        {"name": "Tom Becker", "email": "tom@example.com", "team": "Investor Relations",
         "job_role": "investor_relations"},
        by="sam", reason="joined IR",
    )  # fmt: skip
    directory.provision("lena", {"name": "Lena Fischer", "team": "Operations"}, by="sam")
    directory.create_group("okrgov-members", ["tom", "lena"], by="sam")
    return platform


Read = Callable[..., Any]


@pytest.fixture
def read(client: TestClient, people: Platform, auth: AuthHeaders) -> Read:
    """``read(path, (user, role), **params)``: a GET as of everything recorded so far."""

    def get(path: str, who: tuple[str, str], **params: Any) -> Any:
        headers = {**auth(*who), "X-Okrgov-Min-Position": str(position(people))}
        return client.get(path, params=params, headers=headers)

    return get


def _ids(answer: Any) -> list[str]:
    return [p["user_id"] for p in ok(answer)["items"]]


def test_oversight_and_admins_list_everyone_filtered(people: Platform, read: Read) -> None:
    for who in (MARCUS, SAM, ("priya", "executive"), ("ana", "risk_officer")):
        assert _ids(read("/v1/people", who)) == ["lena", "sam", "tom"]
    tom = ok(read("/v1/people", MARCUS))["items"][2]
    assert tom == {
        "user_id": "tom", "name": "Tom Becker", "email": "tom@example.com",
        "job_role": "investor_relations", "team": "Investor Relations", "title": "",
        "groups": ["okrgov-members"], "active": True, "external_id": "",
    }  # fmt: skip
    assert _ids(read("/v1/people", MARCUS, team="investor relations")) == ["tom"]
    people.directory.set_active("lena", False, by="sam", reason="left")
    assert _ids(read("/v1/people", MARCUS, active="false")) == ["lena"]
    assert _ids(read("/v1/people", MARCUS, active="true")) == ["sam", "tom"]
    both = read("/v1/people", MARCUS, active="true", team="Operations")
    assert _ids(both) == []


def test_anyone_else_reads_their_own_entry_only(read: Read) -> None:
    assert _ids(read("/v1/people", TOM)) == ["tom"]
    assert ok(read("/v1/people/tom", TOM))["name"] == "Tom Becker"
    other = read("/v1/people/lena", TOM)
    assert other.status_code == 403, other.text
    assert "read by compliance, executives, risk officers and admins" in other.text
    # Someone the directory does not hold: nobody listed, and 403 before 404 for others.
    assert _ids(read("/v1/people", ("omar", "risk_officer"))) == [
        "lena", "sam", "tom"
    ]  # fmt: skip
    assert read("/v1/people/ghost", TOM).status_code == 403
    missing = read("/v1/people/ghost", MARCUS)
    assert missing.status_code == 404, missing.text


def test_bad_input_names_the_field(read: Read) -> None:
    for params, field in (({"active": "perhaps"}, "active"), ({"team": "x" * 257}, "team")):
        refused = read("/v1/people", MARCUS, **params)
        assert refused.status_code == 422, refused.text
        assert [d["field"] for d in refused.json()["error"]["details"]] == [field]
    bad = read("/v1/people/Tom Becker", MARCUS)
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["details"][0]["field"] == "user_id"
    unknown = read("/v1/people", MARCUS, role="admin")
    assert unknown.status_code == 422, unknown.text


def test_a_persons_page_has_their_directory_history(people: Platform, read: Read) -> None:
    directory = people.directory
    directory.update("tom", {"title": "IR Manager"}, by="tom", reason="sign-in")
    [members] = [g for g in directory.groups() if g.name == "okrgov-members"]
    directory.change_group(members.id, by="sam", members=["lena"])
    directory.change_group(members.id, by="sam", name="okrgov-staff")
    directory.set_active("tom", False, by="sam", reason="left the firm")
    page = ok(read("/v1/people/tom", MARCUS))
    assert (page["active"], page["groups"], page["title"]) == (False, [], "IR Manager")
    history = [
        (h["action"], h["actor"], h["actor_name"], h["group"], h["reason"]) for h in page["history"]
    ]
    assert history == [
        ("Person.Provisioned", "sam", "Sam Okoro", None, "joined IR"),
        ("Group.MembersChanged", "sam", "Sam Okoro", "okrgov-staff", None),
        ("Person.Updated", "tom", "Tom Becker", None, "sign-in"),
        ("Group.MembersChanged", "sam", "Sam Okoro", "okrgov-staff", None),
        ("Person.Deactivated", "sam", "Sam Okoro", None, "left the firm"),
    ]
    assert page["history"][2]["changes"]["changes"]["after"] == {"title": "IR Manager"}
    assert page["history"][3]["changes"]["removed"]["after"] == ["tom"]
    # Lena's history names only the group changes that name her.
    lena = ok(read("/v1/people/lena", SAM))["history"]
    assert [h["action"] for h in lena] == ["Person.Provisioned", "Group.MembersChanged"]
    # Names are the directory's when answered, never copies; a deleted group keeps its last.
    directory.update("sam", {"name": "Samuel Okoro"}, by="sam")
    directory.delete_group(members.id, by="sam")
    again = ok(read("/v1/people/tom", MARCUS))["history"]
    assert {h["actor_name"] for h in again if h["actor"] == "sam"} == {"Samuel Okoro"}
    assert again[1]["group"] == "okrgov-staff"


def test_a_leaver_cannot_act_and_their_request_is_flagged(
    client: TestClient, platform: Platform, people: Platform, auth: AuthHeaders,
    locked_world: dict[str, str],
) -> None:  # fmt: skip
    tom, priya = auth("tom", "member"), auth("priya", "executive")
    body = {"key_result_id": locked_world["key_result"], "changes": {"target": 10},
            "reason": "handing over"}  # fmt: skip
    asked = ok(client.post("/v1/change-requests", json=body, headers=tom), 201)
    assert asked["requester_active"] is True

    platform.directory.set_active("tom", False, by="sam", reason="left the firm")
    refused = client.get("/v1/cycles", headers=tom)
    assert refused.status_code == 401, refused.text
    read = ok(client.get(f"/v1/change-requests/{asked['id']}", headers=priya))
    assert read["requester_active"] is False
    pending = ok(client.get("/v1/change-requests", params={"status": "pending"}, headers=priya))
    assert [r["requester_active"] for r in pending["items"]] == [False]
    rejected = ok(
        client.post(
            f"/v1/change-requests/{asked['id']}/reject",
            json={"reason": "the requester has left"},
            headers=priya,
        )
    )
    assert (rejected["status"], rejected["requester_active"]) == ("rejected", False)

    platform.directory.set_active("tom", True, by="sam", reason="stayed")
    assert ok(client.get("/v1/cycles", headers=tom))
    read = ok(client.get(f"/v1/change-requests/{asked['id']}", headers=priya))
    assert read["requester_active"] is True
