"""The demo is a real firm's two quarters, on SQLite and PostgreSQL: the last one closed,
scored across a range and sealed (and the seal verifies), the current one locked with
check-ins up to today only, one owner silent for weeks, the guardrails' denials and
warnings on record (the conduct rule reading job roles from the directory the demo
provisioned first), change requests decided both ways and a policy change approved by a
second risk officer. Seeded: a second fresh store loaded for the same day seals the same
digest; loading again into the same store adds nothing."""

import itertools
from collections import Counter
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from uuid import UUID

from events import Cycle
from events.decision import Decision
from infra.config import Settings
from projections.compliance import ComplianceViews
from projections.documents import Document
from projections.entries import EntryQuery
from services.application.demo import DemoSummary, load_demo
from services.application.principals import Principal
from services.bootstrap import Platform, build

#: A Wednesday in the eighth week of 2026-Q4: the last quarter is 2026-Q3.
TODAY = date(2026, 11, 18)
END_OF_TODAY = datetime.combine(TODAY, time.max, UTC)
MARCUS = Principal.of("marcus", ["compliance"])


def test_the_demo_on_a_fresh_store(platform: Platform, tmp_path: Path) -> None:
    summary = load_demo(platform.ledger, today=TODAY)
    platform.catch_up()
    state = platform.okr_state
    cycles = {c["name"]: c for c in state.find("cycle")}
    assert summary.loaded == ("2026-Q3", "2026-Q4") and set(cycles) == set(summary.loaded)
    assert summary.people == 30
    last, current = cycles["2026-Q3"], cycles["2026-Q4"]

    _the_last_quarter_is_sealed_with_mixed_scores(platform, last, summary)
    _the_current_quarter_is_locked_up_to_today(platform, current)
    _check_ins_read_like_real_ones(platform, last)
    _the_compliance_views_have_findings(platform)
    _governance_in_action(platform, last, summary)
    _the_roster_is_in_the_directory(platform, summary)

    # The same demo, the same day, another fresh store (SQLite): the same sealed digest.
    other = build(
        Settings(
            data_dir=tmp_path / "other",
            secret_key="test-secret-of-enough-length-for-hs256",
            log_level="WARNING",
        )
    )
    try:
        again = load_demo(other.ledger, today=TODAY)
    finally:
        other.close()
    assert again.sealed == summary.sealed
    assert (again.check_ins, again.denied, again.warned) == (
        summary.check_ins, summary.denied, summary.warned,
    )  # fmt: skip

    # Loaded again into the same store: both quarters are there, nothing is added.
    head = platform.ledger.recorder.max_notification_id()
    repeated = load_demo(platform.ledger, today=TODAY)
    assert repeated.loaded == () and repeated.skipped == ("2026-Q3", "2026-Q4")
    assert platform.ledger.recorder.max_notification_id() == head
    assert repeated.lines() == ["nothing loaded: the store already has 2026-Q3, 2026-Q4"]


def _key_results(platform: Platform, cycle: Document) -> list[Document]:
    state = platform.okr_state
    return [
        kr for o in state.find("objective", cycle["id"]) for kr in state.find("key_result", o["id"])
    ]


def _the_last_quarter_is_sealed_with_mixed_scores(
    platform: Platform, last: Document, summary: DemoSummary
) -> None:
    assert last["state"] == "sealed"
    check = platform.ledger.verify_seal(MARCUS, summary.cycle_ids["2026-Q3"])
    assert check.matches
    assert summary.sealed == (("2026-Q3", check.sealed_digest),)
    scores = [kr["score"]["value"] for kr in _key_results(platform, last)]
    assert len(scores) >= 15
    assert min(scores) < 0.4 and max(scores) == 1.0
    assert sum(s < 0.7 for s in scores) >= 3  # some key results missed
    assert sum(s == 1.0 for s in scores) >= 3
    # Closed after its end, on the next quarter's first working day.
    assert last["closed_at"].startswith("2026-10-01")


def _the_current_quarter_is_locked_up_to_today(platform: Platform, current: Document) -> None:
    assert current["state"] == "locked"
    key_results = _key_results(platform, current)
    assert len(key_results) >= 20
    latest = [kr["latest_check_in"] for kr in key_results]
    assert all(c is not None for c in latest)
    assert max(datetime.fromisoformat(c["at"]) for c in latest) <= END_OF_TODAY
    assert all(date.fromisoformat(c["effective_on"]) <= TODAY for c in latest)
    # This week's Monday is the latest week reported.
    assert max(c["effective_on"] for c in latest) == "2026-11-16"
    cycle = platform.ledger.load(Cycle, _id(current), to_change=False)
    assert cycle.state == "locked"


def _id(document: Document) -> UUID:
    return UUID(document["id"])


def _check_ins_read_like_real_ones(platform: Platform, last: Document) -> None:
    """Values that do not step evenly, confidence both ways, a few missed weeks, notes
    that differ, each check-in at its own moment reporting its own Monday."""
    check_ins = list(platform.audit.pages(EntryQuery(action="KeyResult.CheckedIn")))
    by_key_result: dict[str, list[Any]] = {}
    for entry in check_ins:
        by_key_result.setdefault(entry["aggregate_id"], []).append(entry)
    counts = Counter(len(items) for items in by_key_result.values())
    assert len(counts) > 1  # not every key result has the same number of check-ins
    notes = [e["changes"]["note"]["after"] for e in check_ins]
    assert len(set(notes)) > len(notes) // 3
    moments = {e["at"] for e in check_ins}
    assert len(moments) > 0.9 * len(check_ins)  # each at its own moment (a few coincide)
    correlations = {e["correlation_id"] for e in check_ins}
    assert len(correlations) == len(check_ins)
    went_down = 0
    for items in by_key_result.values():
        confidences = [e["changes"]["confidence"]["after"] for e in items]
        went_down += any(b < a for a, b in itertools.pairwise(confidences))
    assert went_down >= len(by_key_result) // 3
    weekdays = Counter(
        date.fromisoformat(e["details"]["effective_on"]).weekday() for e in check_ins
    )
    assert weekdays.most_common(1)[0][0] == 0  # Mondays


def _the_compliance_views_have_findings(platform: Platform) -> None:
    views = ComplianceViews(platform.okr_state, platform.governance, platform.audit)
    violations = views.violations()
    rules = {r["rule"]: r for r in violations["by_rule"]}
    for denied in ("pay_linked", "risk_appetite", "sales_conduct", "changes_after_lock",
                   "approver_role"):  # fmt: skip
        assert rules[denied]["denied"] >= 1, denied
    for warned in ("sandbagging", "activity_not_outcome", "objective_title_shape",
                   "growth_without_guardrail", "single_key_result"):  # fmt: skip
        assert rules[warned]["warned"] >= 1, warned
    stale = views.stale_check_ins(END_OF_TODAY)["items"]
    assert [item["title"] for item in stale] == [
        "Critical vendors with a current due-diligence file"
    ]
    assert stale[0]["days_silent"] > 21
    assert views.pay_linked()["denied_attempts"] and views.over_appetite()["denied_attempts"]


def _governance_in_action(platform: Platform, last: Document, summary: DemoSummary) -> None:
    state = platform.okr_state
    requests = [
        cr for kr in _key_results(platform, last) for cr in state.find("change_request", kr["id"])
    ]
    assert sorted(cr["status"] for cr in requests) == ["applied", "rejected"]
    assert (summary.approved, summary.rejected) == (2, 2)
    policies = sorted(platform.governance.find("policy"), key=lambda p: int(p["number"]))
    assert [p["status"] for p in policies] == ["retired", "active"]
    assert (policies[1]["proposed_by"], policies[1]["approved_by"]) == ("ana", "kofi")
    # The change maps the CRO's office to the risk officer role; nobody's job role is in
    # the data any more: the directory has them, and refused Lena's volume key result.
    grants = policies[1]["data"]["identity"]["role_grants"]
    assert grants["okrgov-cro-office"] == ["risk_officer"]
    assert grants["okrgov-executives"] == ["executive"]
    assert "job_roles" not in policies[1]["data"]
    assert "what-if: 0 key results of 2026-Q3 judged differently" in summary.notes


def _the_roster_is_in_the_directory(platform: Platform, summary: DemoSummary) -> None:
    """The demo provisioned its thirty people (by okrgov, before its first cycle was
    opened), and the conduct rule read Lena's job role from there."""
    people = platform.ledger.directory.people()
    assert len(people) == summary.people == 30
    tom = people["tom"]
    assert (tom.name, tom.job_role, tom.team, tom.email) == (
        "Tom Becker", "investor_relations", "Investor Relations", "tom@northbridge.example",
    )  # fmt: skip
    assert "directory: 30 people provisioned" in summary.notes
    provisioned = list(platform.audit.pages(EntryQuery(action="Person.Provisioned")))
    assert len(provisioned) == 30
    assert {e["actor"] for e in provisioned} == {"okrgov"}
    assert max(e["at"] for e in provisioned) < "2026-07-01T14:00"  # before Q3 is opened
    denied = platform.governance.find("decision", "denied")
    conduct = [d for d in denied if any(v["rule"] == "sales_conduct" for v in d["deny"])]
    assert conduct
    for found in conduct:
        decision = platform.ledger.load(Decision, UUID(found["id"]), to_change=False)
        assert decision.input is not None
        lena = decision.input["people"]["lena"]
        assert lena == {"job_role": "investor_relations", "active": True}


def test_a_quarter_whose_name_is_taken_is_left_as_it_is(platform: Platform) -> None:
    """A store where someone opened "2026-q4" (names compare ignoring case): the demo
    loads the last quarter only, and says so; the existing cycle gains nothing."""
    priya = Principal.of("priya", ["executive"])
    mine = platform.ledger.open_cycle(priya, "2026-q4", date(2026, 10, 5), date(2026, 12, 31))
    summary = load_demo(platform.ledger, today=TODAY)
    assert (summary.loaded, summary.skipped) == (("2026-Q3",), ("2026-Q4",))
    assert "already there, left as they are: 2026-Q4" in summary.lines()[1]
    platform.catch_up()
    state = platform.okr_state
    assert sorted(c["name"] for c in state.find("cycle")) == ["2026-Q3", "2026-q4"]
    assert state.find("objective", str(mine.id)) == []
    assert summary.sealed[0][0] == "2026-Q3"
