"""Ana's journey through HTTP: the chief risk officer lowers the firm's appetite for
investment risk in a new policy version, sees its effect on the cycle before anyone
approves it, has her deputy approve it (never herself), and from then on every decision
names version 2 and its digest. She also writes a rule of her own, tests it, proposes it
the same way and sees it enforced; a rule with a syntax error is refused with its line."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    ANA,
    MARCUS,
    OMAR,
    PRIYA,
    TOM,
    UNKNOWN,
    decisions,
    ok,
    position,
)
from fastapi.testclient import TestClient
from okr_builders import definition
from typer.testing import CliRunner

from policies.bundle import DATA_FILE, load_bundle, load_shipped_bundle
from policies.proposal_checks import invariant_modules
from services.bootstrap import Platform
from services.cli.main import app as cli

AuthHeaders = Callable[..., dict[str, str]]
HEX64 = re.compile(r"^[0-9a-f]{64}$")

SHIPPED = load_shipped_bundle()

#: Ana's rule: growing AUM is paired with a complaints measure on the same objective.
AUM_RULE = """\
package okrgov.guardrails

import rego.v1

# Why: growing assets under management can be bought with unsuitable advice; a paired
# complaints measure on the same objective makes that visible.
deny contains violation("aum_needs_complaints", msg) if {
	kr := proposed
	kr.direction == "increase"
	contains(proposed_words.title, " aum ")
	not complaints_measured
	msg := sprintf(
		"Key result %s grows AUM without a complaints metric: add one to this objective.",
		[label(kr)],
	)
}

complaints_measured if {
	some sibling in siblings
	contains(normalised(sibling.title), " complaints ")
}
"""

AUM_TESTS = """\
package okrgov.guardrails_test

import data.okrgov.guardrails
import rego.v1

aum := {
	"title": "AUM growth in Fund IV",
	"owner": "elena",
	"unit": "EUR m",
	"baseline": 1200,
	"target": 1500,
	"direction": "increase",
	"pay_linked": false,
}

complaints := {
	"id": "kr-1",
	"title": "Client complaints per quarter",
	"owner": "elena",
	"unit": "complaints",
	"baseline": 12,
	"target": 6,
	"direction": "decrease",
	"pay_linked": false,
}

test_aum_growth_alone_is_denied if {
	some v in guardrails.deny with input as {
		"action": "key_result.add",
		"resource": {"kind": "key_result", "id": null, "before": null, "after": aum},
		"siblings": [],
	}
	v.rule == "aum_needs_complaints"
}

test_aum_growth_beside_complaints_is_allowed if {
	denied := {v.rule | some v in guardrails.deny} with input as {
		"action": "key_result.add",
		"resource": {"kind": "key_result", "id": null, "before": null, "after": aum},
		"siblings": [complaints],
	}
	not "aum_needs_complaints" in denied
}
"""


def proposal(description: str, **changes: Any) -> dict[str, Any]:
    """The shipped modules and data (deep copies), with ``modules=`` / ``appetite=``
    changes applied."""
    data = copy.deepcopy(SHIPPED.data)
    data["risk_appetite"].update(changes.get("appetite", {}))
    modules = {**SHIPPED.modules, **changes.get("modules", {})}
    return {"modules": modules, "data": data, "description": description}


LOWER_INVESTMENT = proposal(
    "Board meeting of 2026-11-20: investment risk appetite from 4 to 2",
    appetite={"investment": 2},
)


@pytest.fixture
def auth(auth: AuthHeaders) -> AuthHeaders:
    """The conftest's ``auth``, one token per person and roles, all issued before the test
    starts: issuing a token is recorded, and these tests count what a request records."""
    issued: dict[tuple[str, ...], dict[str, str]] = {}

    def headers(user: str, *roles: str) -> dict[str, str]:
        key = (user, *roles)
        if key not in issued:
            issued[key] = auth(user, *roles)
        return issued[key]

    for person in (ANA, OMAR, MARCUS, PRIYA, TOM, ("sam", "admin"), ("rita", "risk_officer")):
        headers(*person)
    return headers


def propose(
    client: TestClient, auth: AuthHeaders, body: dict[str, Any], who: tuple[str, ...] = ANA
) -> dict[str, Any]:
    """A proposal that must be accepted (by Ana unless ``who`` says otherwise)."""
    return ok(client.post("/v1/policies", json=body, headers=auth(*who)), 201)


def statuses(client: TestClient, headers: dict[str, str]) -> dict[int, str]:
    """Number -> status of every version; exactly one is active whenever it is read."""
    items = ok(client.get("/v1/policies", headers=headers))["items"]
    found = {p["number"]: p["status"] for p in items}
    assert list(found.values()).count("active") == 1, found
    return found


def add_key_result(
    client: TestClient, objective_id: str, body: dict[str, Any], headers: dict[str, str]
) -> Any:
    return client.post(f"/v1/objectives/{objective_id}/key-results", json=body, headers=headers)


def investment_kr(title: str, rating: int) -> dict[str, Any]:
    return definition(
        title=title,
        owner="elena",
        unit="%",
        baseline=60,
        target=80,
        direction="increase",
        risk_domain="investment",
        risk_rating=rating,
        guardrail_metric="drawdown",
    )


@pytest.fixture
def investments(client: TestClient, auth: AuthHeaders, world: dict[str, str]) -> dict[str, str]:
    """``world`` plus an investment objective with key results rated 4, 3 and 2 in the
    investment domain, all within the shipped appetite (4)."""
    priya = auth(*PRIYA)
    objective = ok(
        client.post(
            "/v1/objectives",
            json={
                "cycle_id": world["cycle"],
                "title": "Deliver strong risk-adjusted returns for our LPs",
                "owner": "priya",
                "level": "function",
                "commitment": "aspirational",
            },
            headers=priya,
        ),
        201,
    )
    ids = dict(world, investment_objective=objective["id"])
    for name, title, rating in [
        ("rated_4", "Fund IV deployed into new positions", 4),
        ("rated_3", "Fund IV portfolio companies above plan", 3),
        ("rated_2", "Fund III liquidity coverage", 2),
    ]:
        added = ok(
            add_key_result(client, objective["id"], investment_kr(title, rating), priya), 201
        )
        ids[name] = added["id"]
    return ids


# ---- proposing --------------------------------------------------------------------------


def test_a_risk_officer_proposes_version_2(
    client: TestClient, platform: Platform, auth: AuthHeaders
) -> None:
    marcus = auth(*MARCUS)
    shipped = ok(client.get("/v1/policies/active", headers=marcus))
    proposed = propose(client, auth, LOWER_INVESTMENT)
    assert (proposed["number"], proposed["status"]) == (2, "proposed")
    assert proposed["proposed_by"] == "ana"
    assert (proposed["approved_by"], proposed["approved_at"]) == (None, None)
    assert HEX64.match(proposed["digest"]) and proposed["digest"] != shipped["digest"]
    assert proposed["data"]["risk_appetite"]["investment"] == 2
    assert proposed["modules"] == SHIPPED.modules
    assert proposed["description"] == LOWER_INVESTMENT["description"]

    listing = ok(client.get("/v1/policies", headers=marcus))["items"]
    assert [(p["number"], p["status"], p["proposed_by"]) for p in listing] == [
        (1, "active", "okrgov"),
        (2, "proposed", "ana"),
    ]
    assert listing[0]["digest"] == shipped["digest"] == SHIPPED.digest()
    assert ok(client.get(f"/v1/policies/{proposed['id']}", headers=marcus)) == proposed
    # Proposing changes nothing yet: version 1 still decides.
    assert ok(client.get("/v1/policies/active", headers=marcus))["number"] == 1

    # The same files proposed unchanged have the digest of the bundle on disk.
    same = propose(client, auth, proposal("the shipped bundle again"))
    assert (same["number"], same["digest"]) == (3, shipped["digest"])


def typo(text: str, line: str) -> tuple[str, int]:
    """``text`` with ``:=`` doubled in its (first) line ``line``, and that line's number."""
    number = text.splitlines().index(line) + 1
    return text.replace(line, line.replace(":=", ":= :=", 1), 1), number


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("aum.rego", AUM_RULE, "\tkr := proposed"),  # Ana's new module
        ("guardrails.rego", SHIPPED.modules["guardrails.rego"], "limits := data.limits"),
    ],
    ids=["new-module", "shipped-module"],
)
def test_a_module_with_a_syntax_error_is_refused_with_its_line(
    client: TestClient, platform: Platform, auth: AuthHeaders, name: str, text: str, line: str
) -> None:
    broken, number = typo(text, line)
    before = position(platform)
    answer = client.post(
        "/v1/policies",
        json=proposal("a rule with a typo", modules={name: broken}),
        headers=auth(*ANA),
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "policy_compile_error"
    [detail] = error["details"]
    assert (detail["field"], detail["line"]) == (f"modules.{name}", number)
    assert detail["message"]
    assert error["message"].startswith(f"{name}:{number}:")
    # Nothing was recorded: no version 2, and the next proposal is numbered 2.
    assert position(platform) == before
    assert statuses(client, auth(*MARCUS)) == {1: "active"}
    fixed = propose(client, auth, proposal("the typo fixed", modules={name: text}))
    assert fixed["number"] == 2


def test_only_risk_officers_propose(
    client: TestClient, platform: Platform, auth: AuthHeaders
) -> None:
    before = position(platform)
    for who in (TOM, PRIYA, MARCUS, ("sam", "admin")):
        answer = client.post("/v1/policies", json=LOWER_INVESTMENT, headers=auth(*who))
        assert answer.status_code == 403, (who, answer.text)
        assert answer.json()["error"]["code"] == "forbidden"
    assert position(platform) == before


# ---- approving ----------------------------------------------------------------------------


def test_four_eyes_approval_activates_version_2_and_retires_version_1(
    client: TestClient, platform: Platform, auth: AuthHeaders, investments: dict[str, str]
) -> None:
    ana, omar, marcus, priya = auth(*ANA), auth(*OMAR), auth(*MARCUS), auth(*PRIYA)
    v1 = ok(client.get("/v1/policies/active", headers=marcus))
    allowed_under_v1 = decisions(client, platform, marcus, action="key_result.add")
    assert {(d["outcome"], d["policy_version"]) for d in allowed_under_v1} == {("allowed", 1)}
    v2 = propose(client, auth, LOWER_INVESTMENT)
    assert statuses(client, marcus) == {1: "active", 2: "proposed"}

    approve = f"/v1/policies/{v2['id']}/approve"
    before = position(platform)
    own = client.post(approve, headers=ana)
    assert own.status_code == 409, own.text
    assert own.json()["error"]["code"] == "four_eyes"
    for who in (TOM, PRIYA, MARCUS):
        refused = client.post(approve, headers=auth(*who))
        assert refused.status_code == 403, (who, refused.text)
        assert refused.json()["error"]["code"] == "forbidden"
    assert position(platform) == before
    assert statuses(client, marcus) == {1: "active", 2: "proposed"}

    approved = ok(client.post(approve, headers=omar))
    assert (approved["number"], approved["status"]) == (2, "active")
    assert (approved["approved_by"], approved["digest"]) == ("omar", v2["digest"])
    assert approved["approved_at"] is not None
    assert statuses(client, marcus) == {1: "retired", 2: "active"}
    retired = ok(client.get(f"/v1/policies/{v1['id']}", headers=marcus))
    assert (retired["superseded_by"], retired["approved_by"]) == (2, "okrgov")
    assert retired["retired_at"] is not None
    active = ok(client.get("/v1/policies/active", headers=marcus))
    assert (active["id"], active["number"], active["digest"]) == (v2["id"], 2, v2["digest"])
    # Neither version can be approved again.
    for path in (approve, f"/v1/policies/{v1['id']}/approve"):
        refused = client.post(path, headers=auth("rita", "risk_officer"))
        assert refused.status_code == 409, refused.text
    assert statuses(client, marcus) == {1: "retired", 2: "active"}

    # From now on every decision names version 2 and its digest: the key result rated 3,
    # allowed under version 1, is now over the appetite, whether added or revised.
    objective = investments["investment_objective"]
    again = investment_kr("Fund IV portfolio companies above plan", 3)
    denied = add_key_result(client, objective, again, priya)
    assert denied.status_code == 422, denied.text
    error = denied.json()["error"]
    assert [d["rule"] for d in error["details"]] == ["risk_appetite"]
    assert "appetite of 2" in error["details"][0]["message"]
    revised = client.patch(
        f"/v1/key-results/{investments['rated_3']}", json={"target": 85}, headers=priya
    )
    assert revised.status_code == 422, revised.text
    assert [d["rule"] for d in revised.json()["error"]["details"]] == ["risk_appetite"]
    within = ok(add_key_result(client, objective, investment_kr("Fund III DPI", 2), priya), 201)

    latest = decisions(client, platform, marcus, limit=3)
    assert [(d["action"], d["outcome"]) for d in latest] == [
        ("key_result.add", "allowed"),
        ("key_result.revise", "denied"),
        ("key_result.add", "denied"),
    ]
    assert latest[0]["target_id"] == within["id"]
    for decision in latest:
        assert (decision["policy_version"], decision["bundle_digest"]) == (2, v2["digest"])
    # The decisions made under version 1 keep naming it.
    history = decisions(client, platform, marcus, action="key_result.add", outcome="allowed")
    assert {d["id"] for d in allowed_under_v1} < {d["id"] for d in history}
    for decision in history:
        if decision["id"] in {d["id"] for d in allowed_under_v1}:
            assert (decision["policy_version"], decision["bundle_digest"]) == (1, v1["digest"])


# ---- what-if ------------------------------------------------------------------------------


def test_simulation_lists_what_would_newly_be_denied_and_records_nothing(
    client: TestClient, platform: Platform, auth: AuthHeaders, investments: dict[str, str]
) -> None:
    ana, marcus = auth(*ANA), auth(*MARCUS)
    v2 = propose(client, auth, LOWER_INVESTMENT)
    simulate = f"/v1/policies/{v2['id']}/simulate"
    before = position(platform)
    report = ok(client.post(simulate, json={"cycle_id": investments["cycle"]}, headers=ana))
    assert position(platform) == before
    assert ok(client.get("/healthz"))["recorded"] == before
    assert (report["policy_id"], report["policy_version"]) == (v2["id"], 2)
    assert (report["compared_with_version"], report["cycle_id"]) == (1, investments["cycle"])
    assert report["key_results_evaluated"] == 4  # Tom's and the three investment ones
    changes = sorted(report["changes"], key=lambda c: c["title"])
    assert changes == [
        {
            "key_result_id": investments["rated_4"],
            "title": "Fund IV deployed into new positions",
            "newly_denied": ["risk_appetite"],
            "no_longer_denied": [],
            "newly_warned": [],
            "no_longer_warned": [],
            "error": None,
        },
        {
            "key_result_id": investments["rated_3"],
            "title": "Fund IV portfolio companies above plan",
            "newly_denied": ["risk_appetite"],
            "no_longer_denied": [],
            "newly_warned": [],
            "no_longer_warned": [],
            "error": None,
        },
    ]
    # Another risk officer and executives may look too; nothing is approved by looking.
    for who in (OMAR, PRIYA):
        assert (
            ok(client.post(simulate, json={"cycle_id": investments["cycle"]}, headers=auth(*who)))[
                "changes"
            ]
            == report["changes"]
        )
    assert position(platform) == before
    assert statuses(client, marcus) == {1: "active", 2: "proposed"}

    # A version that changes nothing changes nothing in the cycle.
    unchanged = propose(client, auth, proposal("nothing new"))
    before = position(platform)
    quiet = ok(
        client.post(
            f"/v1/policies/{unchanged['id']}/simulate",
            json={"cycle_id": investments["cycle"]},
            headers=ana,
        )
    )
    assert (quiet["policy_version"], quiet["key_results_evaluated"], quiet["changes"]) == (3, 4, [])

    missing = client.post(simulate, json={"cycle_id": UNKNOWN}, headers=ana)
    assert missing.status_code == 404, missing.text
    assert missing.json()["error"]["code"] == "not_found"
    unknown_version = client.post(
        f"/v1/policies/{UNKNOWN}/simulate", json={"cycle_id": investments["cycle"]}, headers=ana
    )
    assert unknown_version.status_code == 404
    member = client.post(simulate, json={"cycle_id": investments["cycle"]}, headers=auth(*TOM))
    assert member.status_code == 403
    assert position(platform) == before


def test_simulation_after_activation_shows_what_an_older_version_would_lift(
    client: TestClient, platform: Platform, auth: AuthHeaders, investments: dict[str, str]
) -> None:
    """Once version 2 is active, the what-if compares with it: going back to the shipped
    appetite would lift its denial of the two key results rated above 2."""
    v2 = propose(client, auth, LOWER_INVESTMENT)
    ok(client.post(f"/v1/policies/{v2['id']}/approve", headers=auth(*OMAR)))
    back = propose(client, auth, proposal("back to the shipped appetite"), who=OMAR)
    report = ok(
        client.post(
            f"/v1/policies/{back['id']}/simulate",
            json={"cycle_id": investments["cycle"]},
            headers=auth(*ANA),
        )
    )
    assert report["compared_with_version"] == 2
    lifted = {c["key_result_id"]: c["no_longer_denied"] for c in report["changes"]}
    assert lifted == {
        investments["rated_4"]: ["risk_appetite"],
        investments["rated_3"]: ["risk_appetite"],
    }


# ---- a rule of Ana's own ------------------------------------------------------------------


def test_a_new_rule_is_tested_proposed_approved_and_enforced(
    client: TestClient,
    platform: Platform,
    auth: AuthHeaders,
    world: dict[str, str],
    tmp_path: Path,
) -> None:
    ana, omar, priya, marcus = auth(*ANA), auth(*OMAR), auth(*PRIYA), auth(*MARCUS)

    # Ana runs her test cases with `okrgov policy test` on her working copy of the bundle.
    bundle_dir = tmp_path / "bundle"
    bundle_dir.mkdir()
    for name, text in {**SHIPPED.modules, "aum.rego": AUM_RULE, "aum_test.rego": AUM_TESTS}.items():
        (bundle_dir / name).write_text(text, encoding="utf-8")
    (bundle_dir / DATA_FILE).write_text(json.dumps(SHIPPED.data), encoding="utf-8")
    run = CliRunner().invoke(cli, ["policy", "test", str(bundle_dir)])
    assert run.exit_code == 0, run.output
    assert "PASS data.okrgov.guardrails_test.test_aum_growth_alone_is_denied" in run.output
    # Her two tests, the invariant tests every version passes, and the compile checks.
    assert "PASS data.okrgov.invariants_test.test_pay_linked_key_results_are_denied" in run.output
    assert "PASS the data has every setting the rules read" in run.output
    invariants = sum(
        len(re.findall(r"^test_\w+ if", text, re.M)) for text in invariant_modules().values()
    )
    assert run.output.splitlines()[-2:] == [
        f"checked: 2 tests of the bundle, {invariants} invariant tests, 4 other checks",
        f"{2 + invariants + 4} passed, 0 failed",
    ]

    # An AUM key result set under version 1, without a complaints measure beside it.
    objective = ok(
        client.post(
            "/v1/objectives",
            json={
                "cycle_id": world["cycle"],
                "title": "Grow Fund IV with the right investors",
                "owner": "priya",
                "level": "function",
                "commitment": "aspirational",
            },
            headers=priya,
        ),
        201,
    )
    aum = definition(
        title="AUM growth in Fund IV",
        owner="elena",
        unit="EUR m",
        baseline=1200,
        target=1500,
        direction="increase",
    )
    earlier = ok(add_key_result(client, objective["id"], aum, priya), 201)

    bundle = load_bundle(bundle_dir)  # what she proposes: the modules and her tests
    assert "aum_test.rego" in bundle.tests
    body = {
        "modules": {**bundle.modules, **bundle.tests},
        "data": bundle.data,
        "description": "No AUM growth key result without a paired complaints metric",
    }
    v2 = propose(client, auth, body)
    assert v2["digest"] == bundle.digest()  # her tests are kept, not digested
    assert v2["modules"] == bundle.modules
    report = ok(
        client.post(
            f"/v1/policies/{v2['id']}/simulate", json={"cycle_id": world["cycle"]}, headers=ana
        )
    )
    assert [(c["key_result_id"], c["newly_denied"]) for c in report["changes"]] == [
        (earlier["id"], ["aum_needs_complaints"])
    ]
    ok(client.post(f"/v1/policies/{v2['id']}/approve", headers=omar))

    # Enforced through the API: another AUM key result alone is denied by the new rule...
    second = ok(
        client.post(
            "/v1/objectives",
            json={
                "cycle_id": world["cycle"],
                "title": "Build a durable investor base for Fund IV",
                "owner": "priya",
                "level": "function",
                "commitment": "committed",
            },
            headers=priya,
        ),
        201,
    )
    denied = add_key_result(client, second["id"], aum, priya)
    assert denied.status_code == 422, denied.text
    error = denied.json()["error"]
    assert error["code"] == "guardrail_denied"
    assert [d["rule"] for d in error["details"]] == ["aum_needs_complaints"]
    assert "complaints" in error["details"][0]["message"]
    [attempt] = decisions(client, platform, marcus, outcome="denied")
    assert (attempt["actor"], attempt["policy_version"], attempt["bundle_digest"]) == (
        "priya",
        2,
        v2["digest"],
    )
    assert [v["rule"] for v in attempt["deny"]] == ["aum_needs_complaints"]

    # ...and allowed once a complaints metric sits beside it; the old rules still apply.
    complaints = definition(
        title="Client complaints per quarter",
        owner="elena",
        unit="complaints",
        baseline=12,
        target=6,
    )
    ok(add_key_result(client, second["id"], complaints, priya), 201)
    paired = ok(add_key_result(client, second["id"], aum, priya), 201)
    assert paired["title"] == "AUM growth in Fund IV"
    bonus = add_key_result(
        client, second["id"], definition(title="Fund IV close", pay_linked=True), priya
    )
    assert [d["rule"] for d in bonus.json()["error"]["details"]] == ["pay_linked"]
