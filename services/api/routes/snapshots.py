"""Quarter-end snapshots: seal a closed cycle, read a cycle as of a position or time, export
it (canonical JSON, CSV, the board's HTML report), and verify a seal against the events.

Snapshots are computed from the event store itself, not from a read model, so they need no
read-your-writes wait: every write that was answered is already in the store."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response

from events.errors import InvalidValue
from infra.persistence import MAX_POSITION
from projections.documents import Document
from services.api.deps import Commands, CurrentPrincipal, PlatformDep, written
from services.api.errors import READ_ERRORS, WRITE_ERRORS
from services.api.schemas.cycles import Cycle
from services.api.schemas.snapshots import SealVerification, SnapshotAnswer, SnapshotDocument
from services.api.security_headers import REPORT_POLICY
from services.application.snapshots import AsOf
from services.reports.snapshot_csv import to_csv
from services.reports.snapshot_html import to_html

router = APIRouter(prefix="/v1/cycles", tags=["snapshots"])

DIGEST_HEADER = "X-Okrgov-Snapshot-Digest"
SNAPSHOT_POSITION_HEADER = "X-Okrgov-Snapshot-Position"
_AS_OF = (
    f"an event position (`1234`, from 1 to {MAX_POSITION}) or a moment "
    "(`2026-12-31T23:59:59Z`: the last position recorded at or before it; no offset means "
    "UTC); default: now"
)
#: A position has at most 19 digits (the largest, 2^63-1, has 19; beyond it is a 422 too).
AsOfQuery = Annotated[
    str | None,
    Query(description=_AS_OF, max_length=64, pattern=r"^([0-9]{1,19}|\d{4}-\d\d-\d\d[T ].+)$"),
]
_MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
_EXPORT_HEADERS = {
    DIGEST_HEADER: {"description": "SHA-256 of the canonical JSON", "schema": {"type": "string"}},
    SNAPSHOT_POSITION_HEADER: {
        "description": "the event position the snapshot is as of",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_POSITION},
    },
}
_EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "json: the canonical bytes that were digested; csv: one row per key "
        "result; html: the printable report for the board",
        "model": SnapshotDocument,
        "content": {"text/csv": {"schema": {"type": "string"}}, "text/html": {}},
        "headers": _EXPORT_HEADERS,
    },
    **READ_ERRORS,
}


def parse_as_of(as_of: str | None) -> AsOf:
    """``as_of`` as a position or a moment; 422 naming ``as_of`` when it is neither."""
    if as_of is None:
        return None
    if as_of.isascii() and as_of.isdigit():
        position = int(as_of)
        if not 1 <= position <= MAX_POSITION:
            raise InvalidValue(f"positions run from 1 to {MAX_POSITION}", field="as_of")
        return position
    try:
        return datetime.fromisoformat(as_of)
    except ValueError:
        raise InvalidValue(
            "as_of is neither an event position nor an ISO 8601 date and time", field="as_of"
        ) from None


@router.post("/{cycle_id}/seal", response_model=Cycle, responses=written())
def seal_cycle(cycle_id: UUID, cmd: Commands) -> Document:
    """Record the quarter-end snapshot's position and digest (executives and admins; a
    closed cycle, once)."""
    done = cmd.ledger.seal_cycle(cmd.principal, cycle_id)
    return cmd.settle(done).okr.cycle(done.id)


@router.get(
    "/{cycle_id}/snapshot",
    response_model=SnapshotAnswer,
    # The document as digested: a field a change does not have stays absent, not null.
    response_model_exclude_unset=True,
    responses=READ_ERRORS,
)
def get_snapshot(
    cycle_id: UUID, platform: PlatformDep, principal: CurrentPrincipal, as_of: AsOfQuery = None
) -> Document:
    """The cycle as it stood at a position or moment, with the digest of its canonical JSON
    and the position it is as of (which is not part of what is digested)."""
    snapshot = platform.ledger.snapshot(principal, cycle_id, parse_as_of(as_of))
    return {
        "cycle_id": snapshot.cycle_id,
        "position": snapshot.position,
        "digest": snapshot.digest,
        "snapshot": snapshot.document,
    }


@router.get("/{cycle_id}/snapshot/export", response_class=Response, responses=_EXPORT_RESPONSES)
def export_snapshot(
    cycle_id: UUID,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    as_of: AsOfQuery = None,
    format: Literal["json", "csv", "html"] = "json",
) -> Response:
    """The snapshot as canonical JSON (exactly the digested bytes), as CSV, or as the
    printable HTML report for the board (the firm's name, people's names beside their
    ids, the seal; a progress report with progress toward each target when the cycle is
    not closed yet); digest and position in the headers. Names are not digested."""
    snapshot = platform.ledger.snapshot(principal, cycle_id, parse_as_of(as_of))
    if format == "json":
        content = snapshot.canonical
    elif format == "csv":
        content = to_csv(snapshot, platform.names)
    else:
        content = to_html(
            snapshot,
            f"/v1/cycles/{snapshot.cycle_id}",
            firm_name=platform.settings.firm_name,
            names=platform.names,
            seal=platform.ledger.seal_of(principal, snapshot.cycle_id),
        )
    name = f"okrgov-snapshot-{snapshot.cycle_id}-{snapshot.position}.{format}"
    disposition = "inline" if format == "html" else "attachment"
    headers = {
        DIGEST_HEADER: snapshot.digest,
        SNAPSHOT_POSITION_HEADER: str(snapshot.position),
        "Content-Disposition": f'{disposition}; filename="{name}"',
    }
    if format == "html":
        headers["Content-Security-Policy"] = REPORT_POLICY
    return Response(content, media_type=_MEDIA[format], headers=headers)


@router.get(
    "/{cycle_id}/snapshot/verify",
    response_model=SealVerification,
    responses={**READ_ERRORS, 409: WRITE_ERRORS[409]},
)
def verify_snapshot(cycle_id: UUID, platform: PlatformDep, principal: CurrentPrincipal) -> Document:
    """Re-derive the sealed snapshot from the events up to its position and compare its
    digest with the sealed one; 409 when the cycle is not sealed."""
    check = platform.ledger.verify_seal(principal, cycle_id)
    return {
        "cycle_id": check.cycle_id,
        "position": check.position,
        "sealed_position": check.sealed_position,
        "sealed_digest": check.sealed_digest,
        "recomputed_digest": check.recomputed_digest,
        "matches": check.matches,
        "snapshot_format": check.snapshot_format,
        "sealed_by": check.sealed_by,
    }
