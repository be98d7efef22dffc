"""The what-if judges under the engine that decides commands: with
``OKRGOV_POLICY_ENGINE=opa`` both versions, the replays and the versions' tests are
evaluated by OPA's own Go evaluator in the review worker, with ``embedded`` by regorus; the
report names the engine. A proposal whose rule depends on an engine quirk shows it: OPA
lower-cases "İ" to "i", regorus to "i" and a combining dot, so only under OPA does a
title starting with "İ" match ``^[a-z ]+$`` once lower-cased."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import ANA, ok
from fastapi.testclient import TestClient
from okr_builders import definition
from opa_double import OpaServerDouble
from quarter import EXEC, RITA, plan_quarter

from events.policy import PolicyVersion
from infra.config import Settings
from policies import whatif
from policies.bundle import PolicyBundle
from policies.opa_golib import INSTALL_HINT
from services.api import create_app
from services.application.guard import bundle_of
from services.application.recorded_decisions import recorded_decisions
from services.bootstrap import Platform, build

#: Denies a key result whose lower-cased title is plain letters and spaces.
QUIRK = """\
package okrgov.guardrails

import rego.v1

deny contains {"rule": "quirk", "message": "plain title"} if {
	regex.match(`^[a-z ]+$`, lower(input.resource.after.title))
}
"""
#: Passes only where lower("İ") is "i" (OPA), fails under regorus.
QUIRK_TEST = """\
package okrgov.quirk_test

import rego.v1

test_dotted_capital_i_folds_to_i if lower("İ") == "i"
"""
DOTTED = "İnvestor letters sent"
PLAIN = "LP reporting turnaround"  # the key result plan_quarter adds


@pytest.fixture(params=["embedded", "opa"])
def engine_platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Platform]:
    """A started platform whose commands are decided by the engine of the parameter (an
    OPA server double for ``opa``)."""
    engine = request.param
    with OpaServerDouble() as opa:
        platform = build(
            Settings(
                data_dir=tmp_path,
                secret_key="test-secret-of-enough-length-for-hs256",
                policy_engine=engine,
                opa_url=opa.url,
            )
        )
        platform.start()
        try:
            yield platform
        finally:
            platform.close()


def _simulate(platform: Platform, policy: str, cycle: str, **body: Any) -> Any:
    token = platform.tokens.create(*ANA[:1], list(ANA[1:]))
    with TestClient(create_app(platform)) as client:
        response = client.post(
            f"/v1/policies/{policy}/simulate",
            json={"cycle_id": cycle, **body},
            headers={"Authorization": f"Bearer {token}"},
        )
    return response


def _propose_quirk(platform: Platform) -> str:
    """Record (as a test may, without the proposal checks) the shipped bundle with QUIRK
    and QUIRK_TEST added."""
    ledger = platform.ledger
    shipped = bundle_of(ledger.load(PolicyVersion, ledger.registry().versions[0], to_change=False))
    bundle = PolicyBundle(
        {**shipped.modules, "zz_quirk.rego": QUIRK},
        shipped.data,
        {**shipped.tests, "zz_quirk_test.rego": QUIRK_TEST},
    )
    return str(ledger.record_proposal(RITA, bundle, "plain titles").id)


def _decision_of(platform: Platform, title: str) -> str:
    """The id of the recorded decision that added the key result with this title."""
    [found] = [
        d
        for d in recorded_decisions(platform.ledger)
        if d.action == "key_result.add"
        and d.input
        and d.input["resource"]["after"]["title"] == title
    ]
    return str(found.id)


def _title(document: dict[str, Any]) -> Any:
    return document["resource"]["after"]["title"]


def test_the_whatif_answers_as_the_engine_that_decides_commands(
    engine_platform: Platform,
) -> None:
    platform = engine_platform
    engine = platform.settings.policy_engine
    cycle, objective, _ = plan_quarter(platform)
    platform.ledger.add_key_result(EXEC, objective.id, definition(title=DOTTED))
    policy = _propose_quirk(platform)

    report = ok(_simulate(platform, policy, str(cycle.id), replay={"decisions": True}))

    assert report["engine"] == engine
    newly_denied = {c["title"]: c["newly_denied"] for c in report["changes"]}
    # The plain title is denied under either engine; the dotted one only under OPA.
    assert newly_denied.get(PLAIN) == ["quirk"]
    assert newly_denied.get(DOTTED) == (["quirk"] if engine == "opa" else None)
    # The recorded decisions replayed under the proposal follow the same engine.
    replayed = report["replayed_decisions"]
    differing = {item["decision_id"] for item in replayed["items"]}
    assert _decision_of(platform, PLAIN) in differing
    assert (_decision_of(platform, DOTTED) in differing) is (engine == "opa")
    # The proposal's tests ran under the same engine: OPA folds "İ" to "i", regorus not.
    [quirk_test] = [
        r for r in report["proposal_tests"]["results"] if r["name"].endswith("folds_to_i")
    ]
    assert quirk_test["passed"] is (engine == "opa")


def test_without_opas_evaluator_in_the_worker_the_whatif_answers_503(
    platform: Platform, client: TestClient, auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review worker's answer when it cannot load OPA's Go evaluator (as
    ``policies.whatif_job`` gives it) is a 503 naming the engine, not a regorus answer."""
    cycle, _, _ = plan_quarter(platform)
    policy = _propose_quirk(platform)
    real = whatif.expect

    def worker_without_opa(answer: dict[str, Any], what: str) -> Any:
        real(answer, what)  # the worker did answer
        return {"engine": "opa", "unavailable": INSTALL_HINT}

    monkeypatch.setattr(whatif, "expect", worker_without_opa)
    response = client.post(
        f"/v1/policies/{policy}/simulate", json={"cycle_id": str(cycle.id)}, headers=auth(*ANA)
    )
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "policy_engine_unavailable"
    assert "(opa)" in error["message"] and INSTALL_HINT in error["message"]
    assert "not answered by another engine" in error["message"]


def test_the_report_schema_names_the_engine(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["SimulationReport"]
    engine = schema["properties"]["engine"]
    assert engine["enum"] == ["embedded", "opa"] and "engine" in schema["required"]
    assert "OPA's own Go evaluator" in engine["description"]
