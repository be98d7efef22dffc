"""The policy desk (risk officers): the versions with proposer, approver and digest; one
version with its modules and data, a readable diff against any other, the what-if of it
on a cycle side by side, and its approval (four eyes: never by its proposer); proposing a
version by editing the active one's modules and data or uploading files.

Reads are the API's (``GovernanceQueries`` as ``GET /v1/policies``); writes run the
ledger commands of ``POST /v1/policies`` and ``POST /v1/policies/{id}/approve`` with the
API's request schemas, and the what-if is the same ``simulate_policy`` call as ``POST
/v1/policies/{id}/simulate``."""

import json
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from events.policy import unresolved_divergence
from events.values import ENDED_STATES
from services.api.schemas.policies import Simulation
from services.application.principals import Principal, Role
from services.console.deps import GovernancePage, OkrGovernancePage, PolicyForm
from services.console.feedback import parsed, refusal
from services.console.policy_forms import (
    ProposalForm,
    approval_body,
    proposal_body,
    read_proposal,
    whatif_columns,
)
from services.console.templating import flash, render
from services.reports.policy_diff import policy_diff

router = APIRouter(prefix="/console", include_in_schema=False)

DESK = "/console/policies"


@router.get("/policies")
def policy_history(request: Request, reads: GovernancePage) -> Response:
    """Every version, oldest first, as ``GET /v1/policies`` lists them."""
    versions = reads.governance.policies()
    return render(request, "policies.html", {"versions": versions, **_may(request)})


@router.get("/policies/new")
def new_policy(request: Request, reads: GovernancePage) -> Response:
    """The form, filled with the active version's modules, tests and data."""
    active = reads.governance.active_policy()
    return _proposal_page(request, ProposalForm.start_from(active), active)


@router.post("/policies")
async def propose_policy(request: Request, cmd: PolicyForm, reads: GovernancePage) -> Response:
    active = reads.governance.active_policy()
    form = await read_proposal(await request.form(), ProposalForm.start_from(active))
    try:
        body = proposal_body(form)
        done = await cmd.answer(
            lambda ledger, who: ledger.propose_policy(
                who, body.modules, body.data, body.description
            ),
            lambda _reads, recorded: recorded,
        )
    except Exception as exc:
        problem = refusal(request, exc)
        if problem is None:
            raise
        return _proposal_page(request, form, active, problem, status=problem.status)
    flash(request, "Version proposed: another risk officer approves it.")
    return RedirectResponse(f"{DESK}/{done.id}", 303)


def _proposal_page(
    request: Request,
    form: ProposalForm,
    active: dict[str, Any],
    problem: Any = None,
    status: int = 200,
) -> Response:
    context = {"form": form, "active": active, "problem": problem}
    return render(request, "policy_new.html", context, status=status)


@router.get("/policies/{policy_id}")
def policy_page(
    request: Request, policy_id: UUID, reads: OkrGovernancePage, against: UUID | None = None
) -> Response:
    """One version; with ``against``, its diff against that version (htmx: the diff
    alone)."""
    return _version_page(request, reads, policy_id, against=against, block="diff")


@router.post("/policies/{policy_id}/simulate")
async def simulate_policy(request: Request, policy_id: UUID, reads: OkrGovernancePage) -> Response:
    """The what-if on a cycle (htmx: the results alone), as ``POST .../simulate``."""
    form = await request.form()
    principal: Principal = request.state.principal
    platform = request.app.state.platform
    try:
        body = parsed(Simulation, {"cycle_id": form.get("cycle_id")})
        replay = body.replay
        denied = reads.governance.denials(replay.since, replay.until, replay.limit)
        report = await run_in_threadpool(
            platform.ledger.simulate_policy,
            principal,
            policy_id,
            body.cycle_id,
            denied,
            None,
            replay.limit,
        )
    except Exception as exc:
        problem = refusal(request, exc)
        if problem is None:
            raise
        return _version_page(
            request, reads, policy_id, whatif_problem=problem, status=problem.status, block="whatif"
        )
    whatif = {"report": report, "columns": whatif_columns(report, reads.okr)}
    return _version_page(request, reads, policy_id, whatif=whatif, block="whatif")


@router.post("/policies/{policy_id}/approve")
async def approve_policy(
    request: Request, policy_id: UUID, cmd: PolicyForm, reads: OkrGovernancePage
) -> Response:
    """Approve (activate) the version, as ``POST .../approve``; the command refuses its
    proposer, a second approval, and a divergence not acknowledged."""
    form = await request.form()
    try:
        body = approval_body(form)
        await cmd.answer(
            lambda ledger, who: ledger.approve_policy(
                who,
                policy_id,
                acknowledge_divergence=body.acknowledge_divergence,
                reason=body.reason,
            ),
            lambda _reads, recorded: recorded,
        )
    except Exception as exc:
        problem = refusal(request, exc)
        if problem is None:
            raise
        return _version_page(
            request, reads, policy_id, approve_problem=problem, status=problem.status
        )
    flash(request, "Version approved: it is now the active policy.")
    return RedirectResponse(f"{DESK}/{policy_id}", 303)


def _version_page(
    request: Request,
    reads: Any,
    policy_id: UUID,
    *,
    against: UUID | None = None,
    status: int = 200,
    block: str | None = None,
    **shown: Any,
) -> Response:
    governance = reads.governance
    policy = governance.policy(policy_id)
    versions = governance.policies()
    diff = policy_diff(governance.policy(against), policy) if against else None
    cycles = sorted(reads.okr.cycles(), key=lambda c: (c["starts_on"], c["name"]))
    running = [c for c in cycles if c["state"] not in ENDED_STATES]
    context = {
        "policy": policy,
        "versions": versions,
        "against": str(against) if against else _default_against(policy, versions),
        "diff": diff,
        "data_text": json.dumps(policy["data"], indent=2, sort_keys=True, ensure_ascii=False),
        "cycles": cycles,
        "current_cycle": (running or cycles or [{"id": None}])[-1]["id"],
        "needs_acknowledgement": unresolved_divergence(policy.get("divergence")),
        "whatif": None,
        "whatif_problem": None,
        "approve_problem": None,
        **_may(request),
        **shown,
    }
    return render(request, "policy.html", context, status=status, block=block)


def _default_against(policy: dict[str, Any], versions: list[dict[str, Any]]) -> str | None:
    """What a version is compared with first: the active one, else the one before it."""
    active = [v for v in versions if v["status"] == "active" and v["id"] != policy["id"]]
    before = [v for v in versions if v["number"] < policy["number"]]
    chosen = active or before[-1:] or [v for v in versions if v["id"] != policy["id"]][:1]
    return str(chosen[0]["id"]) if chosen else None


def _may(request: Request) -> dict[str, Any]:
    principal: Principal = request.state.principal
    return {"risk_officer": principal.has(Role.RISK_OFFICER)}
