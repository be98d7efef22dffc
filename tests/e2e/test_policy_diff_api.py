"""``GET /v1/policies/{id}/diff?against=OTHER``: what a version changes compared with any
other, for scripts (the policy desk shows the same diff): per Rego module a line diff with
line numbers, per data key path the value before and after; the same answer every time."""

from __future__ import annotations

from collections.abc import Callable

from e2e_support import ANA
from fastapi.testclient import TestClient

from policies.bundle import load_shipped_bundle

AuthHeaders = Callable[..., dict[str, str]]


def _propose_lower_appetite(client: TestClient, auth: AuthHeaders) -> tuple[str, str]:
    """Version 2: investment appetite one lower, one rule line reworded, a new module."""
    shipped = load_shipped_bundle()
    data = {**shipped.data, "risk_appetite": {**shipped.data["risk_appetite"], "investment": 3}}
    modules = dict(shipped.modules)
    name = sorted(modules)[0]
    lines = modules[name].split("\n")
    lines[0] = lines[0] + "  # reviewed"
    modules[name] = "\n".join(lines)
    modules["extra.rego"] = "package okrgov.extra\n\nanswer := 42\n"
    body = {"modules": modules, "data": data, "description": "lower investment appetite"}
    answer = client.post("/v1/policies", json=body, headers=auth(*ANA))
    assert answer.status_code == 201, answer.text
    active = client.get("/v1/policies/active", headers=auth(*ANA)).json()
    return active["id"], answer.json()["id"]


def test_the_diff_names_each_changed_line_and_data_key(
    client: TestClient, auth: AuthHeaders
) -> None:
    first, second = _propose_lower_appetite(client, auth)
    answer = client.get(
        f"/v1/policies/{second}/diff", params={"against": first}, headers=auth(*ANA)
    )
    assert answer.status_code == 200, answer.text
    diff = answer.json()
    assert (diff["base"]["id"], diff["version"]["id"]) == (first, second)
    assert diff["base"]["number"] == 1 and diff["version"]["number"] == 2
    assert diff["identical"] is False
    assert diff["data"] == [
        {"path": "risk_appetite.investment", "change": "changed", "before": "4", "after": "3"}
    ]
    by_name = {m["name"]: m for m in diff["modules"]}
    changed = by_name[sorted(load_shipped_bundle().modules)[0]]
    assert (changed["change"], changed["added"], changed["removed"]) == ("changed", 1, 1)
    first_hunk = changed["hunks"][0]
    assert first_hunk["header"].startswith("@@ -1,")
    removed = [line for line in first_hunk["lines"] if line["kind"] == "removed"]
    added = [line for line in first_hunk["lines"] if line["kind"] == "added"]
    assert removed[0]["old_line"] == 1 and removed[0]["new_line"] is None
    assert added[0]["new_line"] == 1 and added[0]["text"].endswith("  # reviewed")
    assert by_name["extra.rego"]["change"] == "added"
    assert by_name["extra.rego"]["added"] == 3
    # The tests the shipped version keeps and the proposal dropped show as removed.
    assert {m["change"] for m in diff["modules"] if m["name"].endswith("_test.rego")} == {"removed"}
    again = client.get(f"/v1/policies/{second}/diff", params={"against": first}, headers=auth(*ANA))
    assert again.content == answer.content


def test_the_other_way_round_and_against_itself(client: TestClient, auth: AuthHeaders) -> None:
    first, second = _propose_lower_appetite(client, auth)
    back = client.get(f"/v1/policies/{first}/diff", params={"against": second}, headers=auth(*ANA))
    assert back.json()["data"][0] == {
        "path": "risk_appetite.investment",
        "change": "changed",
        "before": "3",
        "after": "4",
    }
    same = client.get(f"/v1/policies/{first}/diff", params={"against": first}, headers=auth(*ANA))
    assert same.json()["identical"] is True
    assert all(m["change"] == "unchanged" and not m["hunks"] for m in same.json()["modules"])


def test_an_unknown_version_or_a_missing_against_is_refused(
    client: TestClient, auth: AuthHeaders
) -> None:
    active = client.get("/v1/policies/active", headers=auth(*ANA)).json()["id"]
    unknown = "00000000-0000-4000-8000-000000000000"
    missing = client.get(
        f"/v1/policies/{active}/diff", params={"against": unknown}, headers=auth(*ANA)
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    without = client.get(f"/v1/policies/{active}/diff", headers=auth(*ANA))
    assert without.status_code == 422
    assert without.json()["error"]["details"][0]["field"] == "against"
    assert client.get(f"/v1/policies/{active}/diff", params={"against": active}).status_code == 401
