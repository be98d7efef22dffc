"""The Monday page: a cycle's objectives and key results, confidence trends, silence,
pending changes and the next step.

Read from the OKR state (``GET /v1/cycles/{id}``'s tree, the change requests) and the
audit trail's check-ins (each key result's weeks); the rows are worked out in
``services.reports.monday_rows``. Lock, close and seal run the ledger commands of
``POST /v1/cycles/{id}/lock``, ``/close`` and ``/seal``: the ledger refuses what the API
refuses (a member, an early close without a reason) and the page shows the refusal."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from events import clock
from projections.check_in_weeks import check_in_weeks
from projections.runner import AUDIT, OKR_STATE
from services.api.deps import Reads, reads
from services.api.schemas.cycles import CycleClosing
from services.application.principals import Principal, Role
from services.console.deps import OkrForm, session_principal
from services.console.feedback import parsed, refusal
from services.console.templating import flash, render
from services.reports import monday_rows as rows

router = APIRouter(prefix="/console", include_in_schema=False)

#: The Monday page reads the OKR state and, for the confidence trends, the audit trail.
MondayPage = Annotated[Reads, Depends(reads(OKR_STATE, AUDIT, who=session_principal))]
HOME = "/console"


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value else None


@router.get("")
def monday_page(
    request: Request,
    page: MondayPage,
    cycle_id: UUID | None = None,
    team: str | None = None,
    owner: str | None = None,
    level: str | None = None,
) -> Response:
    """The current cycle (or ``cycle_id``), filtered by team, owner and level; an htmx
    request for the filters gets the tree alone."""
    filters = rows.Filters(_clean(team), _clean(owner), _clean(level))
    return _page(request, page, cycle_id, filters)


def _page(
    request: Request,
    page: Reads,
    cycle_id: UUID | None,
    filters: "rows.Filters",
    problem: Any = None,
    status: int = 200,
) -> Response:
    cycles = page.okr.cycles()
    chosen = page.okr.cycle(cycle_id) if cycle_id else rows.current_cycle(cycles)
    if chosen is None:
        return render(request, "monday.html", {"cycle": None, "cycles": []}, status=status)
    tree = page.okr.cycle_tree(UUID(chosen["id"]))
    objectives = rows.flatten(tree["objectives"])
    platform = request.app.state.platform
    asked, filters = filters, rows.narrowed(objectives, filters)
    # A small cycle's silence is firm-wide whatever the filters; a large one's is that of
    # the objectives in view, and only their weeks are read.
    large = rows.is_large(objectives)
    scope = rows.in_view(objectives, filters, platform.people) if large else objectives
    weeks = check_in_weeks(page.audit, [o["id"] for o in scope])
    today = clock.today()
    week = rows.due_week(tree, today)
    principal: Principal = request.state.principal
    context = {
        "cycle": tree,
        "cycles": sorted(cycles, key=lambda c: (c["starts_on"], c["name"]), reverse=True),
        "step": rows.next_step(tree, today),
        "may_run": principal.has(Role.EXECUTIVE, Role.ADMIN) and not principal.has(Role.COMPLIANCE),
        "week": week,
        "silent": rows.silent_owners({"objectives": scope} if large else tree, weeks, week),
        "large": large,
        "opened_narrowed": filters != asked,
        "nodes": rows.objective_tree(tree, weeks, platform.people, filters, week),
        "pending": rows.pending_requests(page.okr.change_requests(()), tree),
        "filters": filters,
        "choices": rows.filter_choices(tree, platform.people, platform.names),
        "key_result_count": sum(len(o["key_results"]) for o in objectives),
        "problem": problem,
    }
    return render(request, "monday.html", context, status=status, block="tree")


async def _run(
    request: Request, page: Reads, cmd: Any, cycle_id: UUID, action: str, done_says: str
) -> Response:
    """Run ``action`` on the cycle as its API route does; on a refusal the page again,
    with the refusal beside the buttons."""
    form = await request.form()
    try:
        if action == "close":
            reason = parsed(CycleClosing, {"reason": form.get("reason")}).reason
            await cmd.answer(lambda ledger, who: ledger.close_cycle(who, cycle_id, reason), _done)
        elif action == "lock":
            await cmd.answer(lambda ledger, who: ledger.lock_cycle(who, cycle_id), _done)
        else:
            await cmd.answer(lambda ledger, who: ledger.seal_cycle(who, cycle_id), _done)
    except Exception as exc:
        problem = refusal(request, exc)
        if problem is None:
            raise
        return _page(request, page, cycle_id, rows.Filters(), problem, problem.status)
    flash(request, done_says)
    return RedirectResponse(f"{HOME}?cycle_id={cycle_id}", 303)


def _done(_reads: Reads, recorded: Any) -> Any:
    return recorded


@router.post("/cycles/{cycle_id}/lock")
async def lock_cycle(request: Request, cycle_id: UUID, cmd: OkrForm, page: MondayPage) -> Response:
    """``POST /v1/cycles/{id}/lock``: from now on key results change by change request."""
    return await _run(request, page, cmd, cycle_id, "lock", "Cycle locked.")


@router.post("/cycles/{cycle_id}/close")
async def close_cycle(request: Request, cycle_id: UUID, cmd: OkrForm, page: MondayPage) -> Response:
    """``POST /v1/cycles/{id}/close``: scores every live key result and objective."""
    return await _run(request, page, cmd, cycle_id, "close", "Cycle closed and scored.")


@router.post("/cycles/{cycle_id}/seal")
async def seal_cycle(request: Request, cycle_id: UUID, cmd: OkrForm, page: MondayPage) -> Response:
    """``POST /v1/cycles/{id}/seal``: records the quarter-end snapshot's digest."""
    return await _run(request, page, cmd, cycle_id, "seal", "Cycle sealed.")
