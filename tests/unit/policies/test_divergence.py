"""The divergence check of a proposed version: the probe corpus judged under
regorus and OPA's Go evaluator, in a review worker, bounded by the review budget; a check
that cannot run says why, and is never a pass."""

from __future__ import annotations

from typing import Any

import pytest

from events.policy import (
    CHECKED,
    DivergenceNotAcknowledged,
    PolicyVersion,
    unresolved_divergence,
)
from events.provenance import Stamp
from policies import divergence_job, opa_golib
from policies.bundle import PolicyBundle, load_shipped_bundle
from policies.divergence import check_divergence, shipped_report
from policies.opa_golib import INSTALL_HINT, OpaUnavailable
from policies.review import PolicyReviews
from policies.sandbox import Budgets

SHIPPED = load_shipped_bundle()

#: Denies when an absent guardrail metric is "not a string": OPA and regorus disagree on
#: ``not f(x)`` over an absent field.
ABSENT_METRIC = """package okrgov.guardrails
import rego.v1
deny contains {"rule": "metric", "message": "name a guardrail metric"} if {
\tinput.action == "key_result.add"
\tnot is_string(input.resource.after.guardrail_metric)
}
"""


def job(modules: dict[str, str], size: int = 300, limit: int = 3) -> dict[str, Any]:
    return {"modules": modules, "data": SHIPPED.data, "size": size, "seed": 11, "limit": limit}


def test_a_rule_that_depends_on_the_engine_is_reported_with_the_input_and_both_answers() -> None:
    # 600 probes: enough to draw more additions without a guardrail metric than are listed.
    report = divergence_job.run(job({"metric.rego": ABSENT_METRIC}, size=600, limit=2))
    assert (report["status"], report["inputs"]) == (CHECKED, 600)
    assert report["differing"] > len(report["items"]) == 2  # all counted, two listed
    for item in report["items"]:
        assert item["input"]["action"] == "key_result.add"
        assert "guardrail_metric" not in (item["input"]["resource"]["after"] or {})
        answers = {item["embedded"]["outcome"], item["opa"]["outcome"]}
        assert answers == {"allowed", "denied"} and item["differs_in"][0] == "outcome"
        denied = item["opa"] if item["opa"]["outcome"] == "denied" else item["embedded"]
        assert denied["deny"] == [{"rule": "metric", "message": "name a guardrail metric"}]


def test_the_report_is_the_same_for_the_same_version() -> None:
    modules = {"metric.rego": ABSENT_METRIC}
    assert divergence_job.run(job(modules)) == divergence_job.run(job(modules))


def test_without_opas_evaluator_the_engines_are_not_compared_and_the_report_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing() -> Any:
        raise OpaUnavailable(INSTALL_HINT)

    monkeypatch.setattr(opa_golib, "_new_go_engine", missing)
    report = divergence_job.run(job(SHIPPED.modules))
    assert (report["status"], report["reason"]) == ("not_checked", INSTALL_HINT)
    assert (report["inputs"], report["differing"], report["items"]) == (0, 0, [])
    assert unresolved_divergence(report)


def test_the_check_runs_in_a_review_worker_and_a_check_past_the_budget_is_not_checked() -> None:
    reviews = PolicyReviews(Budgets(decision=0.5, start=5, review=30))
    try:
        report = check_divergence(reviews, PolicyBundle(SHIPPED.modules, SHIPPED.data))
        assert (report["status"], report["inputs"], report["differing"]) == (CHECKED, 2000, 0)
        assert not unresolved_divergence(report)
    finally:
        reviews.close()
    # A completed report is kept by bundle digest: asked again, no review is opened.
    again = check_divergence(NoReviews(), PolicyBundle(SHIPPED.modules, SHIPPED.data))  # type: ignore[arg-type]
    assert again == report and again is not report
    # Other data is another bundle: judged again, here past a budget too tight for it.
    other = PolicyBundle(SHIPPED.modules, {**SHIPPED.data, "note": "v3"})
    tight = PolicyReviews(Budgets(decision=0.5, start=5, review=0.3))
    try:
        late = check_divergence(tight, other)
    finally:
        tight.close()
    assert late["status"] == "not_checked" and "300 ms budget" in late["reason"], late["reason"]
    assert unresolved_divergence(late)


class NoReviews:
    """Review workers that must not be asked for anything."""

    def review(self, what: str) -> Any:
        raise AssertionError(f"a review was opened for {what}")


STAMP, OTHER = Stamp("ana", "c-1"), Stamp("omar", "c-2")


def _version(divergence: dict[str, Any] | None) -> PolicyVersion:
    return PolicyVersion.propose(
        2, SHIPPED.modules, SHIPPED.data, "v2", "digest", STAMP, divergence=divergence
    )


def test_a_version_proposed_before_versions_were_compared_needs_an_acknowledgement() -> None:
    state: dict[str, Any] = {"number": 2}
    PolicyVersion.Proposed.upcast_v2_v3(state)
    assert state["divergence"] is None
    approval: dict[str, Any] = {}
    PolicyVersion.Approved.upcast_v1_v2(approval)
    assert approval == {"acknowledgement": None}
    version = _version(None)
    with pytest.raises(DivergenceNotAcknowledged, match="before versions were compared"):
        version.approve(OTHER)
    version.approve(OTHER, acknowledge_divergence=True, reason="proposed by the old release")
    assert version.acknowledgement == {
        "by": "omar",
        "reason": "proposed by the old release",
        "status": "not_checked",
        "differing": 0,
        "inputs": 0,
    }


def test_an_agreeing_version_needs_nothing_and_records_no_acknowledgement() -> None:
    agreeing = {**shipped_report(), "status": CHECKED, "reason": None, "inputs": 2000}
    version = _version(agreeing)
    version.approve(OTHER, acknowledge_divergence=True, reason="nothing to accept")
    assert version.status == "active" and version.acknowledgement is None
