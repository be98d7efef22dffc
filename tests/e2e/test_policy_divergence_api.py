"""A risk officer hears about divergence before approving.

Ana proposes a version with a rule whose answer depends on the engine (``lower`` of
non-ASCII text differs between OPA and regorus). The proposal is recorded, and with it
its divergence report: the probe corpus judged under both engines, how many inputs differ,
and the first of them with both answers. Omar cannot approve it without acknowledging
the divergence (409 naming ``acknowledge_divergence``); with it, his acknowledgement (who,
why, how many inputs) is on the version's record and in the audit trail. A version equal
to the shipped bundle reports no difference and is approved without a body. A version
whose engines were not compared is acknowledged the same way: never a silent pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from e2e_support import ANA, MARCUS, OMAR, ok, position
from fastapi.testclient import TestClient
from policy_bundles import SHIPPED, shipped_with

from policies.bundle import PolicyBundle
from policies.divergence import CORPUS_SEED, CORPUS_SIZE, LISTED
from policies.divergence_job import not_checked
from policies.embedded import EmbeddedEngine
from services.application.principals import Principal
from services.bootstrap import Platform

AuthHeaders = Callable[..., dict[str, str]]

#: A warning whose answer depends on the engine: Go and Rust lower-case some non-ASCII
#: letters differently (the dotted capital I), so the same title warns under one only.
PLAIN_TITLES = """
warn contains {"rule": "plain_title", "message": "the title is plain lower-case words"} if {
	regex.match(`^[a-z ]+$`, lower(input.resource.after.title))
}
"""


def propose(client: TestClient, auth: AuthHeaders, bundle: PolicyBundle) -> dict[str, Any]:
    body = {
        "modules": {**bundle.modules, **bundle.tests},
        "data": bundle.data,
        "description": "plain titles",
    }
    return ok(client.post("/v1/policies", json=body, headers=auth(*ANA)), 201)


def approve(client: TestClient, auth: AuthHeaders, ident: str, **body: Any) -> Any:
    path = f"/v1/policies/{ident}/approve"
    return client.post(path, json=body or None, headers=auth(*OMAR))


def test_a_diverging_version_is_recorded_with_its_report_and_approved_only_when_acknowledged(
    client: TestClient, platform: Platform, auth: AuthHeaders
) -> None:
    bundle = shipped_with(PLAIN_TITLES, module="plain_titles.rego", tests=False)
    proposed = propose(client, auth, bundle)
    report = proposed["divergence"]
    assert report["status"] == "checked" and report["reason"] is None
    assert report["corpus"] == {"size": CORPUS_SIZE, "seed": CORPUS_SEED}
    assert report["inputs"] == CORPUS_SIZE and report["engines"] == ["embedded", "opa"]
    assert 0 < len(report["items"]) <= min(report["differing"], LISTED)
    regorus = EmbeddedEngine(bundle)
    for item in report["items"]:
        embedded, opa = item["embedded"], item["opa"]
        assert [embedded[k] for k in item["differs_in"]] != [opa[k] for k in item["differs_in"]]
        assert "plain_title" in {v["rule"] for v in embedded["warn"] + opa["warn"]}
        # The report's embedded answer is regorus's own on that input.
        verdict = regorus.evaluate(item["input"])
        assert embedded["deny"] == [{"rule": v.rule, "message": v.message} for v in verdict.deny]
        assert embedded["warn"] == [{"rule": v.rule, "message": v.message} for v in verdict.warn]
    assert (
        ok(client.get(f"/v1/policies/{proposed['id']}", headers=auth(*MARCUS)))["divergence"]
        == report
    )

    refused = approve(client, auth, proposed["id"])
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "divergence_not_acknowledged"
    [detail] = error["details"]
    assert detail["field"] == "acknowledge_divergence"
    assert (detail["differing"], detail["inputs"]) == (report["differing"], CORPUS_SIZE)
    assert f"{report['differing']} of {CORPUS_SIZE} probe inputs" in error["message"]
    assert "acknowledge_divergence" in error["message"]
    without_reason = approve(client, auth, proposed["id"], acknowledge_divergence=True)
    assert without_reason.status_code == 422, without_reason.text
    assert without_reason.json()["error"]["details"][0]["field"] == "reason"
    still = ok(client.get(f"/v1/policies/{proposed['id']}", headers=auth(*MARCUS)))
    assert still["status"] == "proposed" and still["divergence_acknowledgement"] is None

    why = "titles are ASCII in practice; OPA is not deployed this quarter"
    approved = ok(approve(client, auth, proposed["id"], acknowledge_divergence=True, reason=why))
    assert approved["status"] == "active"
    acknowledged = approved["divergence_acknowledgement"]
    assert {k: v for k, v in acknowledged.items() if k != "at"} == {
        "by": "omar",
        "reason": why,
        "status": "checked",
        "differing": report["differing"],
        "inputs": CORPUS_SIZE,
    }
    assert acknowledged["at"] == approved["approved_at"]
    listed = ok(client.get("/v1/policies", headers=auth(*MARCUS)))["items"]
    assert [p["divergence_acknowledgement"] for p in listed if p["id"] == proposed["id"]] == [
        acknowledged
    ]
    query = {"aggregate_id": proposed["id"], "type": "PolicyVersion.Approved"}
    [entry] = ok(client.get("/v1/audit", params=query, headers=auth(*MARCUS)))["items"]
    assert entry["actor"] == "omar" and entry["reason"] == why
    recorded = entry["changes"]["acknowledgement"]["after"]
    assert recorded["by"] == "omar" and recorded["differing"] == report["differing"]
    at = {"X-Okrgov-Min-Position": str(position(platform))}
    approvals = ok(client.get("/v1/compliance/approvals", headers={**auth(*MARCUS), **at}))
    by_number = {a["number"]: a for a in approvals["policy_activations"]}
    assert by_number[2]["divergence_acknowledgement"] == acknowledged
    assert by_number[1]["divergence_acknowledgement"] is None  # the seed acknowledged nothing


def test_a_version_equal_to_the_shipped_bundle_reports_no_difference_and_needs_no_body(
    client: TestClient, auth: AuthHeaders
) -> None:
    seeded = ok(client.get("/v1/policies/active", headers=auth(*MARCUS)))
    assert seeded["divergence"]["status"] == "shipped"
    assert "release's tests" in seeded["divergence"]["reason"]
    proposed = propose(client, auth, SHIPPED)
    report = proposed["divergence"]
    assert (report["status"], report["inputs"], report["differing"], report["items"]) == (
        "checked",
        CORPUS_SIZE,
        0,
        [],
    )
    approved = ok(approve(client, auth, proposed["id"]))
    assert approved["status"] == "active" and approved["divergence_acknowledgement"] is None


def test_a_version_whose_engines_were_not_compared_is_approved_only_when_acknowledged(
    client: TestClient, platform: Platform, auth: AuthHeaders
) -> None:
    """Say OPA's Go evaluator was missing where it was proposed: the report says so, and
    approving it is acknowledged like a divergence."""
    unchecked = not_checked("OPA's Go evaluator is not installed", {"size": 0, "seed": 0})
    recorded = platform.ledger.record_proposal(
        Principal.of(ANA[0], [ANA[1]]), SHIPPED, "shipped, unchecked", unchecked
    )
    ident = str(recorded.id)
    platform.wrote(MARCUS[0], recorded.position)  # Marcus's read waits for it
    shown = ok(client.get(f"/v1/policies/{ident}", headers=auth(*MARCUS)))
    assert shown["divergence"]["status"] == "not_checked"
    refused = approve(client, auth, ident)
    assert refused.status_code == 409, refused.text
    [detail] = refused.json()["error"]["details"]
    assert (detail["field"], detail["status"]) == ("acknowledge_divergence", "not_checked")
    assert "not compared under both engines" in detail["message"]
    assert "not installed" in detail["message"]
    approved = ok(approve(client, auth, ident, acknowledge_divergence=True, reason="known gap"))
    assert approved["divergence_acknowledgement"]["status"] == "not_checked"


def test_versions_and_approvals_recorded_before_the_divergence_check_still_read(
    platform: Platform,
) -> None:
    """A proposal of class version 2 (no report) reads as not checked (None); an approval
    of class version 1 as one that acknowledged nothing."""
    recorder, mapper = platform.ledger.recorder, platform.ledger.mapper
    old_shapes = {"PolicyVersion.Proposed": (2, "divergence"),
                  "PolicyVersion.Approved": (1, "acknowledgement")}  # fmt: skip
    seen = set()
    for notification in recorder.select_notifications(start=1, limit=50):
        kind = type(mapper.to_domain_event(notification)).__qualname__
        if kind not in old_shapes:
            continue
        seen.add(kind)
        version, field = old_shapes[kind]
        state = json.loads(notification.state)
        assert field in state
        del state[field]
        state["class_version"] = version
        old = mapper.to_domain_event(replace(notification, state=json.dumps(state).encode()))
        assert getattr(old, field) is None
    assert seen == set(old_shapes)
