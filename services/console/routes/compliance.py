"""The compliance console: the audit trail (filtered, paged, exported as CSV or JSON
lines), the compliance views (``compliance_views``) and the integrity status
(``integrity``). The trail is searched, paged and exported by
``services.application.audit_search``, the functions ``GET /v1/audit`` calls, under the
same rule: compliance, executives and risk officers read it; members get 403."""

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import HTMLResponse, StreamingResponse

from projections.runner import AUDIT, OKR_STATE
from services.api.deps import Reads, reads
from services.api.errors import Problem
from services.api.schemas.audit import AuditFilter
from services.application import audit_search
from services.console import feedback
from services.console.deps import AuditPage, session_principal
from services.console.routes import compliance_views, integrity
from services.console.routes.compliance_views import OVERSEER
from services.console.templating import render
from services.reports.audit_display import shown, titles

router = APIRouter(prefix="/console", include_in_schema=False)

#: The filters a search link carries (the cursor and the way back are added per page).
FILTERS = ("aggregate_id", "objective_id", "actor", "type", "since", "until")
#: Earlier pages' cursors kept in a page's URL for its "Previous" link.
BACK_KEPT = 50


#: The trail, with the OKR state for the titles of what its entries name.
AuditWithNames = Annotated[Reads, Depends(reads(OKR_STATE, AUDIT, who=session_principal))]


def _parsed(request: Request) -> tuple[dict[str, str], list[int], AuditFilter | Problem]:
    """The filters as given (empty ones left out), the cursors of earlier pages, and the
    search (or the 422 ``Problem`` of the API for filters it would refuse)."""
    given = {k: v.strip() for k, v in request.query_params.items() if v.strip()}
    back = [int(c) for c in given.pop("back", "").split(",") if c.isdigit()][-BACK_KEPT:]
    for name in ("format", "limit"):
        given.pop(name, None)  # the page chooses these
    try:
        return given, back, feedback.parsed(AuditFilter, given)
    except RequestValidationError as exc:
        found = feedback.refusal(request, exc)
        assert found is not None
        return given, back, found


def _link(path: str, given: dict[str, str], **extra: Any) -> str:
    values = {k: given[k] for k in FILTERS if k in given}
    values.update({k: v for k, v in extra.items() if v not in (None, "", 0)})
    return f"{path}?{urlencode(values)}" if values else path


def _rows(items: list[dict[str, Any]], okr_state: Any) -> list[dict[str, Any]]:
    names = titles(okr_state, ((e["aggregate_type"], e["aggregate_id"]) for e in items))
    return [
        {
            **entry,
            "title": names.get(entry["aggregate_id"]),
            "shown_changes": [
                (field, shown(change["before"]), shown(change["after"]))
                for field, change in entry["changes"].items()
            ],
        }
        for entry in items
    ]


@router.get("/audit", dependencies=OVERSEER)
def audit_trail(request: Request, read: AuditWithNames) -> HTMLResponse:
    """The trail filtered as ``GET /v1/audit`` filters it, a page at a time."""
    given, back, search = _parsed(request)
    context: dict[str, Any] = {"given": given, "problem": None, "rows": [], "pages": {}}
    if isinstance(search, Problem):
        context["problem"] = search
        return render(request, "audit.html", context, status=search.status, block="results")
    found = audit_search.page(read.audit, search)
    cursor = search.cursor
    trail = ",".join(str(c) for c in back)
    context["rows"] = _rows(found["items"], read.okr.view)
    context["pages"] = {
        "first": _link("/console/audit", given) if cursor else None,
        "previous": _link(
            "/console/audit",
            given,
            cursor=back[-1] if back else None,
            back=",".join(str(c) for c in back[:-1]),
        )
        if cursor
        else None,
        "next": _link(
            "/console/audit",
            given,
            cursor=found["next_cursor"],
            back=f"{trail},{cursor}" if trail else str(cursor),
        )
        if found["next_cursor"] is not None
        else None,
        "csv": _link("/console/audit/export.csv", given),
        "jsonl": _link("/console/audit/export.jsonl", given),
    }
    return render(request, "audit.html", context, block="results")


@router.get("/audit/export.{format}", dependencies=OVERSEER, response_model=None)
def audit_export(
    request: Request,
    read: AuditPage,
    format: Annotated[Literal["csv", "jsonl"], Path()],
) -> StreamingResponse | HTMLResponse:
    """The whole filtered set, streamed as ``GET /v1/audit?format=...`` streams it."""
    given, _back, search = _parsed(request)
    if isinstance(search, Problem):
        context = {"given": given, "problem": search, "rows": [], "pages": {}}
        return render(request, "audit.html", context, status=search.status)
    found = audit_search.export(read.audit, search, format)
    return StreamingResponse(
        found.lines,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )


# The section's other pages, each in its own module, served by this section's router.
router.routes.extend([*compliance_views.router.routes, *integrity.router.routes])
