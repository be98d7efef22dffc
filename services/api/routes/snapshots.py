"""Quarter-end snapshots: seal a closed cycle, read a cycle as of a position or time, export
it (canonical JSON, CSV, the board's HTML report or its PDF), and verify a seal against the
events.

Snapshots are computed from the event store itself, not from a read model, so they need no
read-your-writes wait: every write that was answered is already in the store."""

from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Response

from infra.persistence import MAX_POSITION
from projections.documents import Document
from services.api.deps import Commands, CurrentPrincipal, PlatformDep, written
from services.api.errors import READ_ERRORS, WRITE_ERRORS
from services.api.schemas.cycles import Cycle
from services.api.schemas.snapshots import SealVerification, SnapshotAnswer, SnapshotDocument
from services.api.security_headers import REPORT_POLICY
from services.application.as_of import AS_OF_MAX_LENGTH, AS_OF_PATTERN, parse_as_of
from services.reports.board_pack import board_pack
from services.reports.board_pack_pdf import PdfUnavailable
from services.reports.snapshot_csv import to_csv

router = APIRouter(prefix="/v1/cycles", tags=["snapshots"])

DIGEST_HEADER = "X-Okrgov-Snapshot-Digest"
SNAPSHOT_POSITION_HEADER = "X-Okrgov-Snapshot-Position"
_AS_OF = (
    f"an event position (`1234`, from 1 to {MAX_POSITION}) or a moment "
    "(`2026-12-31T23:59:59Z`: the last position recorded at or before it; no offset means "
    "UTC); default: now"
)
AsOfQuery = Annotated[
    str | None,
    Query(description=_AS_OF, max_length=AS_OF_MAX_LENGTH, pattern=AS_OF_PATTERN),
]
_MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
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
        "result; html: the printable report for the board; pdf: that report as PDF, the "
        "same bytes for the same snapshot (quote its SHA-256 in the board minutes)",
        "model": SnapshotDocument,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "text/html": {},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
        "headers": _EXPORT_HEADERS,
    },
    **READ_ERRORS,
}


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
    format: Literal["json", "csv", "html", "pdf"] = "json",
) -> Response:
    """The snapshot as canonical JSON (exactly the digested bytes), as CSV, or as the
    printable report for the board in HTML or PDF (the firm's name, people's names beside
    their ids, the seal; a progress report with progress toward each target when the cycle
    is not closed yet); digest and position in the headers. Names are not digested. The PDF
    is byte-identical for the same snapshot (no clock or random id inside); 503 when this
    server cannot make PDFs (WeasyPrint needs pango)."""
    as_of_value = parse_as_of(as_of)
    if format in ("html", "pdf"):
        pack = board_pack(
            platform.ledger,
            principal,
            cycle_id,
            as_of_value,
            firm_name=platform.settings.firm_name,
            names=platform.names,
        )
        snapshot = pack.snapshot
        content = pack.html() if format == "html" else _pdf(pack.pdf)
    else:
        snapshot = platform.ledger.snapshot(principal, cycle_id, as_of_value)
        content = snapshot.canonical if format == "json" else to_csv(snapshot, platform.names)
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


def _pdf(render: Callable[[], bytes]) -> bytes:
    """The PDF, or 503 saying why this server cannot make one."""
    try:
        return render()
    except PdfUnavailable as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "3600"}) from None


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
