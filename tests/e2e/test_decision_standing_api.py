"""``GET /v1/decisions/{id}/replay``: one recorded
decision judged again, in a review worker, under the version it names, by regorus and
OPA's Go evaluator, over a real SQLite store. A denied attempt stands under both; a
member replays their own decisions only; an unknown id is 404; an input altered in the
stored row is ``input_mismatch`` and judged by no engine; a decision made under a rule
whose answer depends on the engine stands under one engine only; a decision whose
version's stored bundle was altered is not judged."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    ANA,
    LENA,
    MARCUS,
    OMAR,
    PRIYA,
    TOM,
    UNKNOWN,
    ok,
    position,
    tom_objective,
)
from fastapi.testclient import TestClient
from okr_builders import definition
from policy_bundles import shipped_with

from infra.config import Settings
from policies import opa_golib, whatif
from services.api import create_app
from services.application.recorded_decisions import recorded_decisions
from services.bootstrap import Platform, build

AuthHeaders = Callable[..., dict[str, str]]

needs_opa = pytest.mark.skipif(not opa_golib.available(), reason=opa_golib.INSTALL_HINT)

#: A rule whose answer depends on the engine: regorus lower-cases a dotted capital I to
#: "i" and a combining dot (as Python and Rust do), OPA to a plain "i" (as Go does), so a
#: title starting with one is plain lower-case words under OPA only.
PLAIN_TITLES = """
deny contains {"rule": "plain_title", "message": "Say more than plain words."} if {
	regex.match(`^[a-z ]+$`, lower(input.resource.after.title))
}
"""


def _replay(client: TestClient, headers: dict[str, str], decision: str, **query: str) -> Any:
    return client.get(f"/v1/decisions/{decision}/replay", params=query, headers=headers)


def _denied_attempt(
    client: TestClient, platform: Platform, auth: AuthHeaders, objective: str, who: Any
) -> dict[str, Any]:
    """A pay-linked key result ``who`` tried to add to the objective: its decision."""
    body = definition(title="Bonus pool KR", owner=who[0], pay_linked=True)
    refused = client.post(f"/v1/objectives/{objective}/key-results", json=body, headers=auth(*who))
    assert refused.status_code == 422, refused.text
    at = {"X-Okrgov-Min-Position": str(position(platform))}
    query = {"outcome": "denied", "actor": who[0], "action": "key_result.add"}
    [decision] = ok(client.get("/v1/decisions", params=query, headers={**auth(*MARCUS), **at}))[
        "items"
    ]
    return decision


@needs_opa
def test_a_denied_attempt_stands_under_both_engines(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    decision = _denied_attempt(client, platform, auth, world["objective"], PRIYA)
    found = ok(_replay(client, auth(*MARCUS), decision["id"]))
    assert (found["decision_id"], found["action"], found["actor"]) == (
        decision["id"],
        "key_result.add",
        "priya",
    )
    assert (found["policy_version"], found["bundle_digest"]) == (1, decision["bundle_digest"])
    assert found["stored_bundle_digest"] == decision["bundle_digest"]
    assert (found["replayability"], found["bundle_matches"], found["not_judged"]) == (
        "replayable",
        True,
        None,
    )
    digests = found["input_digest"]
    assert digests["recorded"] == digests["recomputed"] == decision["input_digest"]
    assert found["recorded"]["outcome"] == "denied"
    assert found["recorded"]["deny"] == decision["deny"] and decision["deny"]
    assert [e["engine"] for e in found["engines"]] == ["embedded", "opa"]
    for engine in found["engines"]:
        assert (engine["agrees"], engine["differs_in"]) == (True, [])
        assert engine["answer"]["outcome"] == "denied"
        assert engine["answer"]["deny"] == decision["deny"]
    assert found["stands"] is True

    # One engine when asked for; an engine by another name is a 422 naming the field.
    only = ok(_replay(client, auth(*MARCUS), decision["id"], engine="embedded"))
    assert [e["engine"] for e in only["engines"]] == ["embedded"] and only["stands"]
    refused = _replay(client, auth(*MARCUS), decision["id"], engine="rego")
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["field"] == "engine"


def test_a_member_replays_their_own_decisions_only(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    objective = tom_objective(client, auth(*TOM), world["cycle"], world["objective"])
    decision = _denied_attempt(client, platform, auth, objective["id"], TOM)
    own = ok(_replay(client, auth(*TOM), decision["id"], engine="embedded"))
    assert (own["actor"], own["stands"]) == ("tom", True)
    assert [e["agrees"] for e in own["engines"]] == [True]

    refused = _replay(client, auth(*LENA), decision["id"], engine="embedded")
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "forbidden" and "your own decisions" in error["message"]
    for overseer in (MARCUS, ANA, PRIYA):
        assert ok(_replay(client, auth(*overseer), decision["id"], engine="embedded"))["stands"]


def test_an_unknown_decision_is_404(
    client: TestClient, auth: AuthHeaders, world: dict[str, str]
) -> None:
    for ident in (UNKNOWN, world["objective"]):  # no aggregate; another aggregate's id
        missing = _replay(client, auth(*MARCUS), ident)
        assert missing.status_code == 404, missing.text
        assert missing.json()["error"]["code"] == "not_found"


def test_an_input_altered_in_the_stored_row_is_not_judged_and_does_not_stand(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str], tmp_path: Path
) -> None:
    decision = _denied_attempt(client, platform, auth, world["objective"], PRIYA)
    [target] = [d for d in recorded_decisions(platform.ledger) if str(d.id) == decision["id"]]
    assert target.position is not None

    def altered(state: dict[str, Any]) -> None:
        state["input"]["resource"]["after"]["pay_linked"] = False  # after the fact

    _rewrite_row(tmp_path, target.position, altered)

    found = ok(_replay(client, auth(*MARCUS), decision["id"]))
    assert (found["replayability"], found["not_judged"]) == ("input_mismatch", "input_mismatch")
    digests = found["input_digest"]
    assert digests["recorded"] == decision["input_digest"]
    assert digests["recomputed"] not in (None, digests["recorded"])
    assert (found["engines"], found["stands"]) == ([], False)
    assert found["bundle_matches"] is True  # the version is intact; the input is not


@needs_opa
def test_a_decision_under_an_engine_quirk_stands_under_one_engine_only(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    bundle = shipped_with(PLAIN_TITLES, module="plain_titles.rego", tests=False)
    body = {"modules": bundle.modules, "data": bundle.data, "description": "plain titles"}
    proposed = ok(client.post("/v1/policies", json=body, headers=auth(*ANA)), 201)
    why = "titles are ASCII in practice"
    approval = {"acknowledge_divergence": True, "reason": why}
    path = f"/v1/policies/{proposed['id']}/approve"
    assert ok(client.post(path, json=approval, headers=auth(*OMAR)))["status"] == "active"
    added = client.post(
        f"/v1/objectives/{world['objective']}/key-results",
        json=definition(title="\u0130nvestor letters sent"),
        headers=auth(*PRIYA),
    )
    assert added.status_code == 201, added.text  # regorus decides commands here
    [decision] = [
        d
        for d in recorded_decisions(platform.ledger)
        if d.policy_version == 2 and d.action == "key_result.add"
    ]

    found = ok(_replay(client, auth(*MARCUS), str(decision.id)))
    assert (found["policy_version"], found["replayability"], found["bundle_matches"]) == (
        2,
        "replayable",
        True,
    )
    assert found["recorded"]["outcome"] == "allowed"
    embedded, opa = found["engines"]
    assert (embedded["engine"], embedded["agrees"], embedded["differs_in"]) == (
        "embedded",
        True,
        [],
    )
    assert embedded["answer"] == found["recorded"]
    assert (opa["engine"], opa["agrees"]) == ("opa", False)
    assert opa["differs_in"][:2] == ["outcome", "deny"]
    assert opa["answer"]["outcome"] == "denied"
    assert "plain_title" in {v["rule"] for v in opa["answer"]["deny"]}
    assert found["stands"] is False


def test_the_route_is_described_in_the_openapi_document(client: TestClient) -> None:
    document = ok(client.get("/openapi.json"))
    route = document["paths"]["/v1/decisions/{decision_id}/replay"]["get"]
    assert route["description"] and {"403", "404", "503"} <= set(route["responses"])
    assert [p["name"] for p in route["parameters"] if p["in"] == "query"] == ["engine"]
    schemas = document["components"]["schemas"]
    described = schemas["DecisionStanding"]["properties"]
    for name in ("replayability", "bundle_matches", "engines", "stands", "not_judged"):
        assert described[name].get("description"), name
    assert schemas["EngineReplay"]["properties"]["agrees"]["description"]


def test_without_opas_evaluator_in_the_worker_the_replay_answers_503(
    client: TestClient,
    platform: Platform,
    auth: AuthHeaders,
    world: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The review worker's answer when it cannot load OPA's Go evaluator is a 503 naming
    the engine, never regorus's answer in its place."""
    decision = _denied_attempt(client, platform, auth, world["objective"], PRIYA)
    real = whatif.expect

    def worker_without_opa(answer: dict[str, Any], what: str) -> Any:
        found = real(answer, what)
        return {"engine": "opa", "unavailable": "no Go here"} if found["engine"] == "opa" else found

    monkeypatch.setattr(whatif, "expect", worker_without_opa)
    response = _replay(client, auth(*MARCUS), decision["id"])
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "policy_engine_unavailable"
    assert "(opa)" in error["message"] and "no Go here" in error["message"]
    assert ok(_replay(client, auth(*MARCUS), decision["id"], engine="embedded"))["stands"]


def test_a_decision_under_an_altered_version_is_not_judged_and_does_not_stand(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str], tmp_path: Path
) -> None:
    decision = _denied_attempt(client, platform, auth, world["objective"], PRIYA)
    headers = auth(*MARCUS)
    seeded = next(
        n.id
        for n in platform.ledger.recorder.select_notifications(1, 100)
        if n.topic.endswith("PolicyVersion.Proposed")
    )
    _rewrite_row(tmp_path, seeded, lambda state: state["data"].update(altered=True))

    fresh = build(
        Settings(data_dir=tmp_path, secret_key="test-secret-of-enough-length-for-hs256")
    )  # reads the row anew
    fresh.start()
    try:
        with TestClient(create_app(fresh)) as again:
            found = ok(_replay(again, headers, decision["id"]))
    finally:
        fresh.close()
    assert (found["replayability"], found["bundle_matches"]) == ("replayable", False)
    assert found["not_judged"] == "bundle_mismatch"
    assert found["bundle_digest"] == decision["bundle_digest"]
    assert found["stored_bundle_digest"] not in (None, decision["bundle_digest"])
    assert (found["engines"], found["stands"]) == ([], False)


def _rewrite_row(data_dir: Path, rowid: int, change: Callable[[dict[str, Any]], None]) -> None:
    """Alter a stored event's state in the SQLite events table, after the fact."""
    conn = sqlite3.connect(data_dir / "okrgov.sqlite")
    try:
        [(raw,)] = conn.execute("SELECT state FROM stored_events WHERE rowid = ?", (rowid,))
        state = json.loads(raw)
        change(state)
        conn.execute("DROP TRIGGER IF EXISTS stored_events_refuse_update")
        conn.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = ?",
            (json.dumps(state).encode(), rowid),
        )
        conn.commit()
    finally:
        conn.close()
