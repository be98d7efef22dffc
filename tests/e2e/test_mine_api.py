"""Lists by owner for scripts: ``GET /v1/objectives?owner=`` and ``GET /v1/key-results``
(``owner=me`` is the caller, members read them too), an unknown cycle is 404 as on every
read, and an owner that is no user id is a 422 naming the field."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

AuthHeaders = Callable[..., dict[str, str]]


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _team_objective(client: TestClient, cycle: str, owner: str, headers: Any) -> str:
    body = {
        "cycle_id": cycle,
        "title": f"{owner}'s team objective",
        "owner": owner,
        "level": "team",
        "commitment": "aspirational",
    }
    return str(ok(client.post("/v1/objectives", json=body, headers=headers), 201)["id"])


def test_owner_me_lists_the_callers_own(
    client: TestClient, auth: AuthHeaders, world: dict[str, str]
) -> None:
    tom, lena, priya = auth("tom", "member"), auth("lena", "member"), auth("priya", "executive")
    lenas = _team_objective(client, world["cycle"], "lena", lena)

    mine = ok(client.get("/v1/key-results?owner=me", headers=tom))["items"]
    assert [kr["id"] for kr in mine] == [world["key_result"]]
    assert all(kr["owner"] == "tom" for kr in mine)
    assert ok(client.get("/v1/key-results?owner=me", headers=lena))["items"] == []
    # A member reads someone else's by their id, as every OKR read allows.
    assert ok(client.get("/v1/key-results?owner=tom", headers=lena))["items"] == mine
    everyone = ok(client.get(f"/v1/key-results?cycle_id={world['cycle']}", headers=lena))
    assert [kr["id"] for kr in everyone["items"]] == [world["key_result"]]

    own = ok(client.get("/v1/objectives?owner=me", headers=lena))["items"]
    assert [o["id"] for o in own] == [lenas] and own[0]["key_results"] == []
    by_id = ok(client.get("/v1/objectives?owner=priya", headers=tom))["items"]
    assert [o["id"] for o in by_id] == [world["objective"]]
    assert [kr["id"] for kr in by_id[0]["key_results"]] == [world["key_result"]]
    both = f"/v1/objectives?owner=me&cycle_id={world['cycle']}"
    assert [o["id"] for o in ok(client.get(both, headers=priya))["items"]] == [world["objective"]]
    # Without an owner the list is every objective, as before.
    assert {o["id"] for o in ok(client.get("/v1/objectives", headers=tom))["items"]} == {
        world["objective"],
        lenas,
    }


def test_an_unknown_cycle_is_404_and_a_bad_owner_422(
    client: TestClient, auth: AuthHeaders, world: dict[str, str]
) -> None:
    tom = auth("tom", "member")
    missing = uuid.uuid4()
    for path in ("/v1/key-results", "/v1/objectives"):
        unknown = client.get(f"{path}?owner=me&cycle_id={missing}", headers=tom)
        assert unknown.status_code == 404, unknown.text
        assert str(missing) in unknown.text
        bad = client.get(f"{path}?owner=not%20a%20user!", headers=tom)
        assert bad.status_code == 422, bad.text
        assert "owner" in {d["field"] for d in bad.json()["error"]["details"]}, bad.text
        misspelt = client.get(f"{path}?ownr=me", headers=tom)
        assert misspelt.status_code == 422, misspelt.text
    assert client.get("/v1/key-results?owner=me").status_code == 401
