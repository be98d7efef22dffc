"""The compliance views in the console: violations (denied attempts and warnings, by
whom and which rule), changes after lock, approvals, pay-linked, over-appetite, policy
periods and stale check-ins, each read from ``projections.compliance.ComplianceViews``
as ``GET /v1/compliance/{view}`` reads it, under the same rule (oversight only)."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, RedirectResponse

from projections.compliance import VIEWS, ComplianceViews
from projections.documents import Document
from services.application import audit_search
from services.application.principals import Principal
from services.console.deps import CompliancePage, ConsolePrincipal
from services.console.templating import render
from services.reports.audit_display import titles

router = APIRouter(prefix="/console", include_in_schema=False)


def console_overseer(principal: ConsolePrincipal) -> Principal:
    """The API's rule (``audit_search.require_overseer``) for the signed-in person."""
    return audit_search.require_overseer(principal)


#: Before any view is waited for: a member is refused at once, as by the API.
OVERSEER = [Depends(console_overseer)]

#: Each view's heading and what it answers, in the order of the API's list.
LABELS = {
    "violations": (
        "Denied attempts and warnings",
        "Every denied attempt and every warning, by rule and by person.",
    ),
    "changes-after-lock": (
        "Changes after lock",
        "Each key result change applied after lock, with requester, approver and reason.",
    ),
    "approvals": (
        "Approvals (four eyes)",
        "Who proposed and who approved each policy version and change request.",
    ),
    "pay-linked": (
        "Pay-linked",
        "Key results flagged pay-linked, and every attempt denied for it.",
    ),
    "over-appetite": (
        "Over appetite",
        "Key results rated above the active policy's risk appetite, and denied attempts.",
    ),
    "policy-periods": (
        "Policy periods",
        "Which policy version was active from when until when.",
    ),
    "stale-check-ins": (
        "Stale check-ins",
        "Key results of active cycles silent for more than seven days.",
    ),
}

_READERS: dict[str, Callable[[ComplianceViews], Document]] = {
    "violations": ComplianceViews.violations,
    "changes-after-lock": ComplianceViews.changes_after_lock,
    "approvals": ComplianceViews.approvals,
    "pay-linked": ComplianceViews.pay_linked,
    "over-appetite": ComplianceViews.over_appetite,
    "policy-periods": ComplianceViews.policy_periods,
    "stale-check-ins": lambda views: views.stale_check_ins(datetime.now(UTC)),
}
assert tuple(_READERS) == VIEWS, "a compliance view the console does not show"
ViewName = Path(pattern=r"^[A-Za-z0-9_.-]{1,100}$")


@router.get("/compliance", dependencies=OVERSEER)
def first_view() -> RedirectResponse:
    return RedirectResponse("/console/compliance/violations", 303)


@router.get("/compliance/{view}", dependencies=OVERSEER)
def compliance_view(
    request: Request, read: CompliancePage, view: Annotated[str, ViewName]
) -> HTMLResponse:
    """One view as a table, with names beside ids and links to the key results and to
    the audit trail filtered on each object."""
    reader = _READERS.get(view)
    if reader is None:
        raise HTTPException(404, f"no compliance view {view!r}; the views are: {', '.join(VIEWS)}")
    views = ComplianceViews(read.okr.view, read.governance.view, read.audit)
    document = reader(views)
    context: dict[str, Any] = {
        "view": view,
        "labels": LABELS,
        "doc": document,
        "names": titles(read.okr.view, _named(document)),
    }
    return render(request, "compliance.html", context)


def _named(document: Document) -> list[tuple[str | None, str | None]]:
    """Every (kind, id) of a cycle, objective or key result the view's rows name."""
    rows = [
        *document.get("items", []),
        *document.get("key_results", []),
        *document.get("denied_attempts", []),
        *document.get("change_requests", []),
    ]
    named: list[tuple[str | None, str | None]] = []
    for row in rows:
        named.append((row.get("target_kind"), row.get("target_id")))
        named.append(("objective", row.get("objective_id")))
        named.append(("key_result", row.get("key_result_id")))
        named.append(("cycle", row.get("cycle_id")))
    return named
