"""The approvals inbox and the change requests by status.

* ``GET /console/approvals``: what waits for the signed-in person (``approvals_inbox``):
  change requests they may decide, with what each would change, their own requests
  waiting for someone else (no buttons: four eyes), and proposed policy versions.
* ``POST /console/approvals/{id}/approve`` and ``.../reject``: the commands of
  ``POST /v1/change-requests/{id}/approve`` and ``/reject``, the reason validated by the
  same ``Decision`` schema; a refusal (a member, the requester) is the page again with
  the API's refusal and status, and nothing changes.
* ``GET /console/change-requests?status=``: the query of ``GET /v1/change-requests``.

A pending request whose requester is deactivated (a leaver) is flagged "requester
deactivated", as the directory says when the page is rendered (the API's
``requester_active``): never recorded with the request."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from services.api.deps import Reads
from services.api.errors import Problem
from services.api.schemas.change_requests import ChangeRequestFilter
from services.api.schemas.common import Decision
from services.application.approvals_inbox import change_view, inbox
from services.application.ledger import Ledger, Recorded
from services.application.principals import Principal
from services.bootstrap import Platform
from services.console import feedback
from services.console.deps import ConsolePrincipal, OkrForm, OkrGovernancePage, OkrPage
from services.console.templating import flash, render

router = APIRouter(prefix="/console", include_in_schema=False)

INBOX = "/console/approvals"
#: The statuses the list page offers, in its order: (value, label).
STATUSES = (("pending", "Pending"), ("approved", "Approved"), ("rejected", "Rejected"))
DONE = {"approve": "Approved", "reject": "Rejected"}


def deactivated(request: Request) -> frozenset[str]:
    """The user ids the directory holds as deactivated, now."""
    platform: Platform = request.app.state.platform
    return frozenset(user for user, person in platform.people.items() if not person.active)


def _inbox_page(
    request: Request,
    page: Reads,
    principal: Principal,
    problem: Problem | None = None,
) -> Response:
    context = {
        "inbox": inbox(principal, page.okr, page.governance),
        "problem": problem,
        "deactivated": deactivated(request),
    }
    return render(request, "approvals.html", context, status=problem.status if problem else 200)


@router.get("/approvals")
def approvals(request: Request, page: OkrGovernancePage, principal: ConsolePrincipal) -> Response:
    return _inbox_page(request, page, principal)


@router.post("/approvals/{change_request_id}/{decision}")
async def decide(
    request: Request,
    change_request_id: UUID,
    decision: Literal["approve", "reject"],
    cmd: OkrForm,
    page: OkrGovernancePage,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Approve or reject: exactly the API's commands, refused by them alike."""
    try:
        body = feedback.parsed(Decision, {"reason": reason})

        def run(ledger: Ledger, who: Principal) -> Recorded:
            act = ledger.approve_change if decision == "approve" else ledger.reject_change
            return act(who, change_request_id, body.reason)

        done = await cmd.answer(
            run,
            lambda reads, recorded: change_view(reads.okr, reads.okr.change_request(recorded.id)),
        )
    except Exception as exc:
        problem = feedback.refusal(request, exc)
        if problem is None:
            raise
        return await run_in_threadpool(_inbox_page, request, page, cmd.principal, problem)
    flash(request, f"{DONE[decision]}: the change request about {done.target_name}.")
    return RedirectResponse(INBOX, 303)


@router.get("/change-requests")
def change_requests(
    request: Request, page: OkrPage, query: Annotated[ChangeRequestFilter, Query()]
) -> Response:
    """The requests by status (and target), as ``GET /v1/change-requests`` answers."""
    found = page.okr.change_requests(query.targets, query.status)
    context = {
        "items": [change_view(page.okr, r) for r in found],
        "status": query.status,
        "statuses": STATUSES,
        "deactivated": deactivated(request),
    }
    return render(request, "change_requests.html", context, block="listing")
