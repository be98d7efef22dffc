"""The audit trail: one entry per event, filtered, paged by cursor, or streamed as CSV or
JSON lines of any size."""

from collections.abc import Iterator
from itertools import chain, islice
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from projections.audit import EXPORTS, MEDIA_TYPES
from projections.entries import Entry, EntryQuery, EntryView
from services.api.deps import AuditReads, CurrentPrincipal
from services.api.errors import READ_ERRORS
from services.api.schemas.audit import AuditFilter, AuditPage
from services.application.principals import OVERSEERS, Principal

router = APIRouter(prefix="/v1/audit", tags=["evidence"])
log = structlog.get_logger("okrgov.audit")

#: Rows read per query while streaming an export.
CHUNK = 500
PAGE = 100


def overseer(principal: CurrentPrincipal) -> Principal:
    """Compliance, executives and risk officers read the audit trail and the compliance
    views; members do not. The trail is the firm-wide record of everyone's changes,
    reasons and denied attempts: a member reads the OKRs (and their history) through the
    OKR routes, while reviewing colleagues' conduct is oversight, kept to those roles."""
    principal.require_oversight(f"the audit trail and compliance views are read by {OVERSEERS}")
    return principal


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
    view = reads.audit
    entries = _entry_query(query, upto=None if query.format == "json" else view.position())
    if query.format == "json":
        limit = query.limit or PAGE
        found = view.entries(entries, query.cursor, limit + 1)
        items = found[:limit]
        more = len(found) > limit
        return {"items": items, "next_cursor": items[-1]["position"] if more else None}
    rows = _started(_stream(view, entries, query.cursor, query.limit))
    return StreamingResponse(
        _watched(EXPORTS[query.format](rows), query.format),
        media_type=MEDIA_TYPES[query.format],
        headers={"Content-Disposition": f'attachment; filename="audit.{query.format}"'},
    )


def _entry_query(query: AuditFilter, upto: int | None) -> EntryQuery:
    return EntryQuery(
        aggregate_id=str(query.aggregate_id) if query.aggregate_id else None,
        objective_id=str(query.objective_id) if query.objective_id else None,
        actor=query.actor,
        action=query.type,
        since=query.since,
        until=query.until,
        upto=upto,
    )


def _stream(view: EntryView, query: EntryQuery, after: int, limit: int | None) -> Iterator[Entry]:
    rows = view.pages(query, after, min(CHUNK, limit or CHUNK))
    return islice(rows, limit) if limit else iter(rows)


def _started(rows: Iterator[Entry]) -> Iterator[Entry]:
    """Read the first chunk now, while a failure can still be an error answer."""
    first = next(rows, None)
    return rows if first is None else chain([first], rows)


def _watched(lines: Iterator[str], format: str) -> Iterator[str]:
    """The export's lines; a failure part way is logged (with the request's correlation
    id) and re-raised, so the server cuts the connection instead of ending the stream."""
    sent = 0
    try:
        for line in lines:
            yield line
            sent += 1
    except Exception as exc:
        log.error("audit.export_cut", format=format, lines_sent=sent, error=type(exc).__name__)
        raise
