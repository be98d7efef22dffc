"""The demo's governance in action, as steps beside the quarters' planning and check-ins.

Last quarter: a credit key result rated above the firm's risk appetite is refused at
planning; in the seventh week Tom tries to lower his turnaround target directly (refused:
changes after lock need a request), asks for it instead, Sofia tries to approve (refused:
only executives decide requests) and Priya approves; Elena's request to lower her memo
target is rejected by Jonathan. In the ninth week Ana, a risk officer, proposes a
guardrail version that maps the identity provider's group for the Chief Risk Officer's
office (``okrgov-cro-office``) to the risk officer role, runs the what-if on the quarter
(a change of who may govern, so no key result is judged differently) and Kofi, the other
risk officer, approves it.

Current quarter, at planning: a pay-linked key result is refused and added again without
the link, a leverage key result rated above appetite is refused and added again within
it, and Jonathan's attempt to give Lena a commitments-raised key result is refused (the
directory has her in investor relations, a client-facing role: sales conduct), so he owns
it himself; an activity key result and Jonathan's objective with a number in its title go
through with warnings, and the finance team's near-certain confidences are warned about
at lock (sandbagging). In the seventh week, if the quarter has got that far, one change
request is approved and one rejected.

Every refusal is a recorded decision (``DemoRun.attempt``)."""

import contextlib
import contextvars
import copy
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from events.policy import PolicyVersion, unresolved_divergence
from policies.divergence import check_divergence
from services.application.demo_plans import (
    CURRENT,
    INCREASE,
    PlannedKeyResult,
    PlannedObjective,
    QuarterPlan,
)
from services.application.demo_quarter import add_key_result, cycle_key, step
from services.application.demo_steps import DemoRun
from services.application.demo_weeks import Quarter, moment
from services.application.guard import bundle_of
from services.application.ledger import Ledger
from services.application.policies import split_bundle

#: The weeks after lock (counted from 0) of the change requests and the policy change.
REQUESTS_WEEK, POLICY_WEEK = 5, 7
#: The identity provider's group the policy change maps, and the roles it grants.
CRO_OFFICE, CRO_OFFICE_ROLES = "okrgov-cro-office", ["risk_officer"]


def last_quarter(run: DemoRun, quarter: Quarter) -> None:
    q, ledger = quarter.name, run.ledger
    yield_kr = PlannedKeyResult(
        "yield", "Private credit book yield over base rate", "omar", "%", 5.5, 7.0,
        INCREASE, "credit", 4, 1.0, (),
    )  # fmt: skip

    def above_appetite() -> None:
        objective = run.ids[f"{q}/credit"]
        run.attempt(ledger.add_key_result, run.who("rajesh"), objective, yield_kr.definition())

    step(run, quarter, moment(quarter.working_day(1), 12, 10), "attempt/yield", above_appetite)
    monday = _monday(quarter, REQUESTS_WEEK)
    if monday is not None:
        _change_requests(run, quarter, monday, (10, 80), ("priya", "jonathan"))
        _refusals_after_lock(run, quarter, monday)
    monday = _monday(quarter, POLICY_WEEK)
    if monday is not None:
        _policy_change(run, quarter, monday)


def current_quarter(run: DemoRun, quarter: Quarter) -> None:
    q, ledger = quarter.name, run.ledger
    day0, day1 = quarter.working_day(0), quarter.working_day(1)

    def attempt(
        who: str, objective: str, kr: PlannedKeyResult, **changes: Any
    ) -> Callable[[], None]:
        def action() -> None:
            definition = kr.definition(**changes)
            done = run.attempt(ledger.add_key_result, run.who(who), run.ids[f"{q}/{objective}"],
                               definition)  # fmt: skip
            if done is not None:
                run.ids[f"{q}/{kr.key}"] = done.id

        return action

    extras = CURRENT.extra
    # Jonathan's objective is created at 15:10 on the first day with its first key result.
    raised, ebitda, leverage = extras["raised"], extras["ebitda"], extras["leverage"]
    when = moment(day0, 15, 20)
    step(run, quarter, when, "attempt/raised",
         attempt("jonathan", "fundraise", raised, owner="lena",
                 title="New LP commitments raised for Fund III"))  # fmt: skip
    _extra(run, quarter, "fundraise", raised, when + timedelta(minutes=6))
    # Elena's objective is the first of the teams' (09:00 on the second day).
    when = moment(day1, 9, 20)
    step(run, quarter, when, "attempt/ebitda",
         attempt("elena", "traceable", ebitda, pay_linked=True))  # fmt: skip
    _extra(run, quarter, "traceable", ebitda, when + timedelta(minutes=7))
    when = moment(day1, 10, 5)
    step(run, quarter, when, "attempt/leverage",
         attempt("rajesh", "credit", leverage, risk_rating=5))  # fmt: skip
    _extra(run, quarter, "credit", leverage, when + timedelta(minutes=9))
    _extra(run, quarter, "lp_reporting", extras["notices"], moment(day1, 13, 40))
    monday = _monday(quarter, REQUESTS_WEEK)
    if monday is not None:
        _change_requests(run, quarter, monday, (8, 90), ("helen", "priya"))


def _extra(
    run: DemoRun, quarter: Quarter, objective: str, kr: PlannedKeyResult, when: datetime
) -> None:
    add_key_result(run, quarter, CURRENT, _objective(CURRENT, objective), kr, when)


def _objective(plan: QuarterPlan, key: str) -> PlannedObjective:
    return next(o for o in plan.objectives if o.key == key)


def _monday(quarter: Quarter, week: int) -> date | None:
    weeks = quarter.weeks()
    return weeks[week] if week < len(weeks) else None


def _change_requests(
    run: DemoRun,
    quarter: Quarter,
    monday: date,
    lowered: tuple[float, float],
    deciders: tuple[str, str],
) -> None:
    """Tom's turnaround target eased (approved), Elena's memo target lowered (rejected)."""
    q, ledger = quarter.name, run.ledger
    turnaround, memos = lowered
    approver, rejecter = deciders
    tuesday, wednesday = monday + timedelta(days=1), monday + timedelta(days=2)

    def request() -> None:
        reason = (
            "the fund administrator's migration slipped by a month; the target assumed "
            "its new data feed from the start of the quarter"
        )
        done = ledger.request_change(
            run.who("tom"), run.ids[f"{q}/turnaround"], {"target": turnaround}, reason
        )
        run.ids[f"{q}/request/turnaround"] = run.done(done)

    def approve() -> None:
        reason = "agreed: the delay is outside Tom's control; revisit next quarter"
        done = ledger.approve_change(run.who(approver), run.ids[f"{q}/request/turnaround"], reason)
        run.done(done, "approved")

    def lower_memos() -> None:
        reason = "deal flow is heavier than planned"
        done = ledger.request_change(
            run.who("elena"), run.ids[f"{q}/memos"], {"target": memos}, reason
        )
        run.ids[f"{q}/request/memos"] = run.done(done)

    def reject() -> None:
        reason = "a documented downside case is what the regulator expects of every memo"
        done = ledger.reject_change(run.who(rejecter), run.ids[f"{q}/request/memos"], reason)
        run.done(done, "rejected")

    step(run, quarter, moment(tuesday, 10, 12), "request/turnaround", request)
    step(run, quarter, moment(tuesday, 14, 3), "approve/turnaround", approve)
    step(run, quarter, moment(wednesday, 9, 41), "request/memos", lower_memos)
    step(run, quarter, moment(wednesday, 16, 18), "reject/memos", reject)


def _refusals_after_lock(run: DemoRun, quarter: Quarter, monday: date) -> None:
    """Before asking, Tom edits his target directly (refused: the cycle is locked); before
    Priya decides, Sofia tries to approve his request (refused: not an approver)."""
    q, ledger, tuesday = quarter.name, run.ledger, monday + timedelta(days=1)

    def edit_directly() -> None:
        run.attempt(ledger.revise_key_result, run.who("tom"), run.ids[f"{q}/turnaround"],
                    {"target": 10}, "migration slipped")  # fmt: skip

    def approve_by_member() -> None:
        run.attempt(ledger.approve_change, run.who("sofia"), run.ids[f"{q}/request/turnaround"],
                    "fine by me")  # fmt: skip

    step(run, quarter, moment(tuesday, 10, 5), "attempt/edit-turnaround", edit_directly)
    step(run, quarter, moment(tuesday, 11, 37), "attempt/approve-turnaround", approve_by_member)


def _policy_change(run: DemoRun, quarter: Quarter, monday: date) -> None:
    """Ana proposes the role mapping for the CRO's office and runs the what-if on this
    quarter; Kofi approves the next afternoon. Skipped when the active version already
    maps the group (a store where the demo ran before). The proposal's engine comparison
    (some seconds) starts now, beside the weeks before it, so the proposal finds it done."""
    q, ledger = quarter.name, run.ledger
    tuesday = monday + timedelta(days=1)
    warming = _warm_up(ledger)

    def propose() -> None:
        if warming is not None:
            warming.join()
        found = _proposal(ledger)
        if found is None:
            run.notes.append(f"policy change skipped: the active version maps {CRO_OFFICE}")
            return
        modules, data = found
        description = (
            f"Map the identity provider's group {CRO_OFFICE} (the Chief Risk Officer's "
            "office) to the risk officer role, so the people IT puts in it sign in able to "
            "propose and approve guardrail versions, and leave it to lose the role: who "
            "governs the guardrails is itself governed here, not granted by hand."
        )
        proposed = ledger.propose_policy(run.who("ana"), modules, data, description)
        run.ids[f"{q}/policy"] = proposed.id
        report = ledger.simulate_policy(
            run.who("ana"), proposed.id, run.ids[cycle_key(quarter)], run.denials
        )
        differ = [c["title"] for c in report["changes"]]
        run.notes.append(
            f"what-if: {len(differ)} key results of {q} judged differently"
            + (f" ({', '.join(differ)})" if differ else "")
        )

    def approve() -> None:
        policy = run.ids.get(f"{q}/policy")
        if policy is None:
            return
        version = ledger.load(PolicyVersion, policy, to_change=False)
        reason = None
        if unresolved_divergence(version.divergence):
            reason = "the engines could not be compared here; only the data changed"
        ledger.approve_policy(
            run.who("kofi"), policy, acknowledge_divergence=reason is not None, reason=reason
        )
        run.counts["policy_versions"] += 1

    step(run, quarter, moment(tuesday, 10, 20), "policy/propose", propose)
    step(run, quarter, moment(tuesday + timedelta(days=1), 15, 5), "policy/approve", approve)


def _proposal(ledger: Ledger) -> tuple[dict[str, str], dict[str, Any]] | None:
    """The active version with the CRO's office mapped to the risk officer role: its
    modules (tests among them) and its data; None when the group is mapped already."""
    active_id = ledger.registry().active_id
    assert active_id is not None  # the platform seeds version 1 before anything else
    bundle = bundle_of(ledger.load(PolicyVersion, active_id, to_change=False))
    data = copy.deepcopy(bundle.data)
    identity = data.setdefault("identity", {"role_claims": ["roles", "groups"]})
    grants = identity.setdefault("role_grants", {})
    if grants.get(CRO_OFFICE) == CRO_OFFICE_ROLES:
        return None
    grants[CRO_OFFICE] = list(CRO_OFFICE_ROLES)
    return {**bundle.modules, **bundle.tests}, data


def _warm_up(ledger: Ledger) -> threading.Thread | None:
    """Compare the engines on the proposal in a thread now; ``check_divergence`` keeps
    the report, so the proposal's own check finds it. A failure here is left to the
    proposal to meet (and report) itself."""
    found = _proposal(ledger)
    if found is None:
        return None
    bundle = split_bundle(found[0], found[1])

    def compare() -> None:
        with contextlib.suppress(Exception):
            check_divergence(ledger.reviews, bundle)

    # In the caller's context, so it is as quiet as the caller (``infra.logging.quieted``).
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(compare,), name="demo-divergence", daemon=True
    )
    thread.start()
    return thread
