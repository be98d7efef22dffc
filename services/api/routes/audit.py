"""The audit trail: one entry per event, filtered, paged by cursor, or streamed as CSV or
JSON lines of any size (``services.application.audit_search``, which the console's audit
pages call too)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from services.api.deps import AuditReads, CurrentPrincipal
from services.api.errors import READ_ERRORS
from services.api.schemas.audit import AuditFilter, AuditPage
from services.application import audit_search
from services.application.principals import Principal

router = APIRouter(prefix="/v1/audit", tags=["evidence"])

#: Rows read per query while streaming an export.
CHUNK = audit_search.CHUNK


def overseer(principal: CurrentPrincipal) -> Principal:
    """Compliance, executives and risk officers read the audit trail and the compliance
    views; members do not (``audit_search.require_overseer``)."""
    return audit_search.require_overseer(principal)


Overseer = Annotated[Principal, Depends(overseer)]

_EXPORT_CONTENT = {
    "text/csv": {"schema": {"type": "string"}},
    "application/x-ndjson": {"schema": {"type": "string"}},
}


@router.get(
    "",
    response_model=AuditPage,
    responses={**READ_ERRORS, 200: {"content": _EXPORT_CONTENT}},
    dependencies=[Depends(overseer)],  # before the read waits: a member is refused at once
)
def audit_trail(
    reads: AuditReads,
    query: Annotated[AuditFilter, Query()],
) -> Any:
    """Entries in store order. ``format=json`` answers one page (``next_cursor`` leads
    to the next); ``format=csv`` and ``format=jsonl`` stream every entry after ``cursor``,
    read from the table a chunk at a time, up to where the trail was when they began.

    Every parameter is checked, and the first chunk read, before the answer starts: a
    refusal or a failure to read is an error answer. A failure after the first chunk can
    only cut the stream: the connection is then closed without the last chunk of the
    chunked transfer, so the client sees an incomplete transfer, never a complete-looking
    export (curl exits 18, httpx raises ``RemoteProtocolError``).

    Compliance, executives and risk officers only. Members get 403: the trail is the
    firm-wide record of everyone's changes, reasons and denied attempts, and reviewing
    colleagues' conduct is oversight; a member reads the OKRs through the OKR routes."""
    if query.format == "json":
        return audit_search.page(reads.audit, query)
    found = audit_search.export(reads.audit, query, query.format, chunk=CHUNK)
    return StreamingResponse(
        found.lines,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )
