"""A key result's page: its definition and whole history in order (check-ins, revisions
with before and after, change requests with who asked, who decided and why, guardrail
decisions with their rules), the check-in form, and the edit form before lock or the
change-request form after it.

Reads are the API's (``GET /v1/key-results/{id}/history``: the same assembly from the
audit trail, the same rule on decisions); writes run the ledger commands of ``POST
.../check-ins``, ``PATCH /v1/key-results/{id}`` and ``POST /v1/change-requests`` with the
API's request schemas. The forms are shown to whom those commands allow (the owner, the
objective's owner, an executive; never compliance), and only in the state they allow."""

from collections.abc import Callable
from contextlib import suppress
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from events.clock import today
from events.values import CycleState
from projections.runner import AUDIT, OKR_STATE
from services.api.deps import Reads, reads
from services.application import key_result_history
from services.application.errors import Forbidden, ProjectionBehind
from services.application.ledger import Ledger, Recorded
from services.application.principals import Principal
from services.console import key_result_forms as forms
from services.console.deps import OkrForm, session_principal
from services.console.feedback import refusal
from services.console.templating import flash, number, render

router = APIRouter(prefix="/console", include_in_schema=False)

#: A key result's page: the OKR state and the audit trail its history is read from.
KeyResultPage = Annotated[Reads, Depends(reads(OKR_STATE, AUDIT, who=session_principal))]
CHECK_IN_FIELDS = ("value", "confidence", "note", "effective_on")
EDIT_FIELDS = (*forms.EDITABLE, "reason")
Run = Callable[[Ledger, Principal], Recorded]


@router.get("/key-results/{key_result_id}")
def key_result_page(request: Request, key_result_id: UUID, reads: KeyResultPage) -> Response:
    return _page(request, reads, key_result_id)


@router.post("/key-results/{key_result_id}/check-ins")
async def check_in(
    request: Request, key_result_id: UUID, cmd: OkrForm, reads: KeyResultPage
) -> Response:
    """Check in, as ``POST /v1/key-results/{id}/check-ins``."""
    form = await request.form()

    def run(ledger: Ledger, who: Principal) -> Recorded:
        body = forms.check_in_body(form)
        return ledger.check_in(
            who, key_result_id, body.value, body.confidence, body.note, body.effective_on
        )

    return await _write(
        request, cmd, reads, key_result_id, run, "check_in", forms.given(form, CHECK_IN_FIELDS),
        "Check-in recorded.",
    )  # fmt: skip


@router.post("/key-results/{key_result_id}/revise")
async def revise(
    request: Request, key_result_id: UUID, cmd: OkrForm, reads: KeyResultPage
) -> Response:
    """Change definition fields before lock, as ``PATCH /v1/key-results/{id}``."""
    form = await request.form()
    current = reads.okr.key_result(key_result_id)

    def run(ledger: Ledger, who: Principal) -> Recorded:
        body = forms.revision_body(form, current)
        return ledger.revise_key_result(who, key_result_id, body.given(), body.reason)

    return await _write(
        request, cmd, reads, key_result_id, run, "edit", forms.given(form, EDIT_FIELDS),
        "Key result revised.",
    )  # fmt: skip


@router.post("/key-results/{key_result_id}/change-requests")
async def request_change(
    request: Request, key_result_id: UUID, cmd: OkrForm, reads: KeyResultPage
) -> Response:
    """Ask for a change after lock, as ``POST /v1/change-requests`` with ``key_result_id``."""
    form = await request.form()
    current = reads.okr.key_result(key_result_id)

    def run(ledger: Ledger, who: Principal) -> Recorded:
        body = forms.change_request_body(form, current, key_result_id)
        changes = body.changes.given()
        return ledger.request_change(who, body.key_result_id, changes, body.reason, body.retire)

    return await _write(
        request, cmd, reads, key_result_id, run, "edit", forms.given(form, EDIT_FIELDS),
        "Change request filed: someone else decides it.",
    )  # fmt: skip


async def _write(
    request: Request,
    cmd: Any,
    reads: Reads,
    key_result_id: UUID,
    run: Run,
    which: str,
    given: dict[str, str],
    done: str,
) -> Response:
    """Run the command; on success back to the page (POST-redirect-GET), on a refusal the
    page again with the refusal beside the form ``which`` and what was typed in it."""
    try:
        await cmd.answer(run, lambda _reads, recorded: recorded)
    except Exception as exc:
        problem = refusal(request, exc)
        if problem is None:
            raise
        await _seen(cmd, getattr(exc, "position", None))
        typed = {which: given}
        return _page(request, reads, key_result_id, {which: problem}, typed, problem.status)
    flash(request, done)
    return RedirectResponse(f"/console/key-results/{key_result_id}", 303)


async def _seen(cmd: Any, position: int | None) -> None:
    """A refusal that recorded its decision (a guardrail denial) is in the history shown
    with it: wait (bounded, as every read) for the trail to reach it; if it does not in
    time, the page shows it on the next load."""
    if position:
        with suppress(ProjectionBehind):
            await run_in_threadpool(
                cmd.platform.wait_for, cmd.principal.user, position, views=(OKR_STATE, AUDIT)
            )


def _page(
    request: Request,
    reads: Reads,
    key_result_id: UUID,
    problems: dict[str, Any] | None = None,
    typed: dict[str, dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    principal: Principal = request.state.principal
    found = key_result_history.history(reads.okr, reads.audit, principal, key_result_id)
    key_result = found["key_result"]
    objective = reads.okr.objective(UUID(key_result["objective_id"]))
    cycle = reads.okr.cycle(UUID(key_result["cycle_id"]))
    writes = key_result["status"] == "active" and _may_write(
        principal, [key_result["owner"], objective["owner"]]
    )
    problems, typed = problems or {}, typed or {}
    current = {
        "title": key_result["title"],
        "unit": key_result["unit"],
        "baseline": number(key_result["baseline"]),
        "target": number(key_result["target"]),
    }
    context = {
        **found,
        "objective": objective,
        "cycle": cycle,
        "may_check_in": writes and cycle["state"] in (CycleState.PLANNING, CycleState.LOCKED),
        "may_edit": writes and cycle["state"] == CycleState.PLANNING,
        "may_request": writes and cycle["state"] == CycleState.LOCKED,
        "check_in_problem": problems.get("check_in"),
        "edit_problem": problems.get("edit"),
        "check_in_form": typed.get("check_in") or {"effective_on": today().isoformat()},
        "edit_form": typed.get("edit") or {**current, "reason": ""},
    }
    return render(request, "key_result.html", context, status=status)


def _may_write(principal: Principal, owners: list[str]) -> bool:
    """Whether the commands would let this person act on the key result (the same
    check they make: the owner, the objective's owner, an executive; never compliance)."""
    try:
        principal.require_owner_or_executive(owners, to="change this key result")
    except Forbidden:
        return False
    return True
