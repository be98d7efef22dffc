"""``POST /v1/policies/{id}/simulate`` with a replay period answers ``replayed_decisions``:
what the proposed version would have decided on every decision actually recorded in the
period, allowed and denied, beside the existing what-if (which keeps its fields)."""

from collections.abc import Callable
from typing import Any

from e2e_support import ANA, ok
from fastapi.testclient import TestClient
from okr_builders import definition
from quarter import EXEC, RITA, plan_quarter

from events.policy import PolicyVersion
from services.application.guard import bundle_of
from services.application.recorded_decisions import recorded_decisions
from services.bootstrap import Platform

AuthHeaders = Callable[..., dict[str, str]]

#: A proposal's one new rule: no key result about NAV restatements.
NO_NAV = """\
package okrgov.guardrails

import rego.v1

deny contains {"rule": "no_nav", "message": "NAV is the administrator's."} if {
	contains(lower(input.resource.after.title), "nav ")
}
"""


def _simulate(
    client: TestClient,
    auth: AuthHeaders,
    policy: str,
    cycle: str | None,
    replay: dict[str, Any] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {} if cycle is None else {"cycle_id": cycle}
    if replay is not None:
        body["replay"] = replay
    found: dict[str, Any] = ok(
        client.post(f"/v1/policies/{policy}/simulate", json=body, headers=auth(*ANA))
    )
    return found


def test_the_proposal_is_judged_on_the_periods_real_decisions(
    client: TestClient, platform: Platform, auth: AuthHeaders
) -> None:
    ledger = platform.ledger
    cycle, objective, _ = plan_quarter(platform)
    ledger.add_key_result(EXEC, objective.id, definition(title="NAV restatements"))
    ledger.add_key_result(EXEC, objective.id, definition(title="Fund admin errors"))
    decisions = list(recorded_decisions(ledger))
    registry = ledger.registry()
    shipped = bundle_of(ledger.load(PolicyVersion, registry.versions[0], to_change=False))
    bundle = shipped.__class__({**shipped.modules, "zz_nav.rego": NO_NAV}, shipped.data)
    proposed = str(ledger.record_proposal(RITA, bundle, "no NAV key results").id)

    since = decisions[1].at.isoformat()
    report = _simulate(client, auth, proposed, str(cycle.id), {"since": since, "limit": 5})
    judged = report["replayed_decisions"]
    assert judged["considered"] == len(decisions) - 1
    assert (judged["replayed"], judged["differing"], judged["left_out"]) == (
        len(decisions) - 1,
        1,
        0,
    )
    assert judged["unchanged"] == len(decisions) - 2
    [item] = judged["items"]
    [nav] = [d for d in decisions if d.input and d.input["resource"]["after"] and
             d.input["resource"]["after"].get("title") == "NAV restatements"]  # fmt: skip
    assert item["decision_id"] == str(nav.id)
    assert (item["action"], item["actor"], item["policy_version"]) == ("key_result.add", "priya", 1)
    assert item["outcome"] == {"recorded": "allowed", "proposed": "denied"}
    assert item["recorded"]["outcome"] == "allowed" and item["recorded"]["deny"] == []
    assert item["proposed"]["deny"] == [
        {"rule": "no_nav", "message": "NAV is the administrator's."}
    ]
    assert item["deny"]["only_proposed"] == item["proposed"]["deny"]
    assert item["differs_in"][:2] == ["outcome", "deny"]
    # The existing what-if is all still there.
    assert {"changes", "replayed_denials", "proposal_tests", "over_budget"} <= set(report)

    # Without a period, none are judged unless asked for: then the whole store is.
    assert _simulate(client, auth, proposed, str(cycle.id), None)["replayed_decisions"] is None
    whole = _simulate(client, auth, proposed, str(cycle.id), {"decisions": True, "limit": 0})
    everything = whole["replayed_decisions"]
    assert (everything["considered"], everything["differing"]) == (len(decisions), 1)
    assert (everything["items"], everything["left_out"]) == ([], 1)

    # A period alone, without a cycle: only the replays (and the tests) run.
    alone = _simulate(client, auth, proposed, None, {"since": since})
    assert (alone["cycle_id"], alone["key_results_evaluated"], alone["changes"]) == (None, 0, [])
    assert alone["replayed_decisions"]["differing"] == 1
    with_cycle = _simulate(client, auth, proposed, str(cycle.id), {"since": since})
    assert with_cycle["key_results_evaluated"] > 0


def test_the_report_is_described_in_the_openapi_document(client: TestClient) -> None:
    schemas = ok(client.get("/openapi.json"))["components"]["schemas"]
    report = schemas["SimulationReport"]["properties"]
    assert "replayed_decisions" in report and "replayed_denials" in report
    described = schemas["ReplayedDecisions"]["properties"]
    for name in ("considered", "replayed", "unchanged", "differing", "not_replayable", "left_out"):
        assert described[name].get("description"), name
    assert schemas["Replay"]["properties"]["decisions"]["description"]
