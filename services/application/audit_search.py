"""Searching the audit trail: who may, one page of a filtered search, and the export of
the whole filtered set as CSV or JSON lines. ``GET /v1/audit`` and the console's audit
pages both call these, so a filter, a page and an export mean the same in both."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, islice
from typing import Any, Protocol
from uuid import UUID

import structlog

from projections.audit import EXPORTS, MEDIA_TYPES
from projections.entries import Entry, EntryQuery, EntryView
from services.application.principals import OVERSEERS, Principal

log = structlog.get_logger("okrgov.audit")

#: Rows read per query while streaming an export.
CHUNK = 500
#: Entries per page when no limit is given.
PAGE = 100


class AuditSearch(Protocol):
    """The filters of a search (``AuditFilter`` of the API's schemas is one)."""

    @property
    def aggregate_id(self) -> UUID | None: ...
    @property
    def objective_id(self) -> UUID | None: ...
    @property
    def actor(self) -> str | None: ...
    @property
    def type(self) -> str | None: ...
    @property
    def since(self) -> datetime | None: ...
    @property
    def until(self) -> datetime | None: ...
    @property
    def cursor(self) -> int: ...
    @property
    def limit(self) -> int | None: ...


def require_overseer(principal: Principal) -> Principal:
    """Compliance, executives and risk officers read the audit trail and the compliance
    views; members do not. The trail is the firm-wide record of everyone's changes,
    reasons and denied attempts: a member reads the OKRs (and their history) through the
    OKR routes, while reviewing colleagues' conduct is oversight, kept to those roles."""
    principal.require_oversight(f"the audit trail and compliance views are read by {OVERSEERS}")
    return principal


def entry_query(search: AuditSearch, upto: int | None = None) -> EntryQuery:
    return EntryQuery(
        aggregate_id=str(search.aggregate_id) if search.aggregate_id else None,
        objective_id=str(search.objective_id) if search.objective_id else None,
        actor=search.actor,
        action=search.type,
        since=search.since,
        until=search.until,
        upto=upto,
    )


def page(view: EntryView, search: AuditSearch) -> dict[str, Any]:
    """The entries after ``cursor`` (``limit``, or ``PAGE``), and the cursor of the next
    page (``None``: this is the last)."""
    limit = search.limit or PAGE
    found = view.entries(entry_query(search), search.cursor, limit + 1)
    items = found[:limit]
    more = len(found) > limit
    return {"items": items, "next_cursor": items[-1]["position"] if more else None}


@dataclass(frozen=True)
class Export:
    """An export ready to stream: its lines, media type and file name."""

    lines: Iterator[str]
    media_type: str
    filename: str


def export(view: EntryView, search: AuditSearch, format: str, chunk: int = CHUNK) -> Export:
    """Every entry after ``cursor`` that the filters select (up to ``limit`` if given),
    read ``chunk`` rows at a time, up to where the trail was when the export began.

    The first chunk is read now, while a failure can still be an error answer; a failure
    after it is logged and re-raised, so the server cuts the connection instead of
    ending the stream (the client sees an incomplete transfer, never a complete-looking
    export)."""
    query = entry_query(search, upto=view.position())
    rows = _started(_stream(view, query, search.cursor, search.limit, chunk))
    return Export(_watched(EXPORTS[format](rows), format), MEDIA_TYPES[format], f"audit.{format}")


def _stream(
    view: EntryView, query: EntryQuery, after: int, limit: int | None, chunk: int
) -> Iterator[Entry]:
    rows = view.pages(query, after, min(chunk, limit or chunk))
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
