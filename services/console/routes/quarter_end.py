"""Quarter end: the cycles with their seals; a cycle's snapshot as of any position or date
(its digest, its position, sealed or not, the board pack's summary); "Verify", which
re-derives a snapshot from the events (a sealed cycle: the API's ``verify_seal``); and the
board pack to download as HTML and as PDF, with the PDF's SHA-256 to quote in the minutes.

Snapshots are read from the event store by the ledger, as the API's snapshot routes read
them (``services.reports.board_pack``), so the console's files are the API's bytes. The
routes are plain ``def``: FastAPI runs them in a worker thread, where a PDF render (a
second or two) blocks nothing else."""

import hashlib
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.responses import HTMLResponse, Response

from events.errors import InvalidValue, NotFound
from infra.persistence import MAX_POSITION
from services.api.deps import PlatformDep
from services.api.security_headers import REPORT_POLICY
from services.application.as_of import read_as_of
from services.application.principals import Principal
from services.bootstrap import Platform
from services.console import feedback
from services.console.deps import ConsolePrincipal, OkrPage
from services.console.templating import render
from services.reports.board_pack import BoardPack, board_pack
from services.reports.board_pack_pdf import PdfUnavailable
from services.reports.board_summary import board_summary

router = APIRouter(prefix="/console", include_in_schema=False)

HOME = "/console/quarter-end"


@router.get("/quarter-end")
def quarter_end(
    request: Request, read: OkrPage, platform: PlatformDep, principal: ConsolePrincipal
) -> HTMLResponse:
    """Every cycle, newest first, with its state and, once sealed, its seal."""
    cycles = sorted(read.okr.cycles(), key=lambda c: str(c["starts_on"]), reverse=True)
    seals = {
        str(c["id"]): platform.ledger.seal_of(principal, UUID(str(c["id"])))
        for c in cycles
        if c["state"] == "sealed"
    }
    return render(request, "quarter_end.html", {"cycles": cycles, "seals": seals})


@router.get("/quarter-end/{cycle_id}")
def snapshot_page(
    request: Request,
    cycle_id: UUID,
    platform: PlatformDep,
    principal: ConsolePrincipal,
    as_of: str = "",
) -> HTMLResponse:
    """The snapshot as of ``as_of`` (a position or a date and time; default: the sealed
    snapshot of a sealed cycle, now for any other)."""
    return _page(request, platform, principal, cycle_id, as_of)


@router.get("/quarter-end/{cycle_id}/verify")
def verify(
    request: Request,
    cycle_id: UUID,
    platform: PlatformDep,
    principal: ConsolePrincipal,
    position: Annotated[int | None, Query(ge=1, le=MAX_POSITION)] = None,
    digest: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    """Re-derive from the events: a sealed cycle's sealed snapshot (``verify_seal``, as
    ``GET /v1/cycles/{id}/snapshot/verify``); and the snapshot at ``position`` when it is
    another, against ``digest``, the one its page showed."""
    ledger = platform.ledger
    checks: list[dict[str, Any]] = []
    seal = ledger.seal_of(principal, cycle_id)
    if seal is not None:
        check = ledger.verify_seal(principal, cycle_id)
        checks.append(
            {
                "what": "The sealed snapshot",
                "position": check.position,
                "expected_label": "Sealed digest",
                "expected": check.sealed_digest,
                "recomputed": check.recomputed_digest,
                "matches": check.matches,
            }
        )
    if position is not None and (seal is None or position != seal.position):
        again = ledger.snapshot(principal, cycle_id, position)
        checks.append(
            {
                "what": f"The snapshot as of position {position}",
                "position": again.position,
                "expected_label": "Digest shown on the page",
                "expected": digest,
                "recomputed": again.digest,
                "matches": again.digest == digest,
            }
        )
    shown = str(position) if position is not None else ""
    return _page(request, platform, principal, cycle_id, shown, checks=checks, block="verify")


@router.get("/quarter-end/{cycle_id}/pdf-sha256")
def pdf_sha256(
    request: Request,
    cycle_id: UUID,
    platform: PlatformDep,
    principal: ConsolePrincipal,
    as_of: str = "",
) -> HTMLResponse:
    """The page with the PDF's SHA-256 worked out (htmx: that paragraph alone)."""
    return _page(request, platform, principal, cycle_id, as_of, with_pdf=True, block="pdf")


@router.get("/quarter-end/{cycle_id}/board-pack.html")
def board_pack_html(
    cycle_id: UUID, platform: PlatformDep, principal: ConsolePrincipal, as_of: str = ""
) -> Response:
    """The board report, the bytes of ``GET /v1/cycles/{id}/snapshot/export?format=html``."""
    pack = _pack(platform, principal, cycle_id, as_of)
    headers = {
        "Content-Disposition": f'inline; filename="{pack.file_name("html")}"',
        "Content-Security-Policy": REPORT_POLICY,
    }
    return Response(pack.html(), media_type="text/html; charset=utf-8", headers=headers)


@router.get("/quarter-end/{cycle_id}/board-pack.pdf")
def board_pack_pdf(
    cycle_id: UUID, platform: PlatformDep, principal: ConsolePrincipal, as_of: str = ""
) -> Response:
    """The board report as PDF, the bytes of ``...snapshot/export?format=pdf``."""
    pack = _pack(platform, principal, cycle_id, as_of)
    headers = {"Content-Disposition": f'attachment; filename="{pack.file_name("pdf")}"'}
    return Response(_pdf(pack), media_type="application/pdf", headers=headers)


def _pack(platform: Platform, principal: Principal, cycle_id: UUID, as_of: str) -> BoardPack:
    """The board pack as of ``as_of`` as typed (blank: the sealed snapshot if any, else
    now); a malformed ``as_of`` is the API's 422."""
    when = read_as_of(as_of)
    if when is None:
        seal = platform.ledger.seal_of(principal, cycle_id)
        when = seal.position if seal is not None else None
    settings = platform.settings
    return board_pack(
        platform.ledger, principal, cycle_id, when, firm_name=settings.firm_name,
        names=platform.names,
    )  # fmt: skip


def _pdf(pack: BoardPack) -> bytes:
    try:
        return pack.pdf()
    except PdfUnavailable as exc:
        raise HTTPException(503, str(exc)) from None


def _page(
    request: Request,
    platform: Platform,
    principal: Principal,
    cycle_id: UUID,
    as_of: str,
    *,
    checks: list[dict[str, Any]] | None = None,
    with_pdf: bool = False,
    block: str | None = None,
) -> HTMLResponse:
    context: dict[str, Any] = {"as_of": as_of, "checks": checks, "problem": None}
    try:
        pack = _pack(platform, principal, cycle_id, as_of)
    except (InvalidValue, NotFound) as exc:  # a malformed as_of; before the cycle existed
        problem = feedback.refusal(request, exc)
        assert problem is not None
        # The cycle itself, so the page can say which cycle the refused date was about.
        context.update(problem=problem, pack=None, cycle_id=cycle_id)
        return render(request, "quarter_end_snapshot.html", context, status=problem.status)
    snapshot, seal = pack.snapshot, pack.seal
    sealed_shown = seal is not None and (
        pack.is_sealed_snapshot or snapshot.document["cycle"]["state"] == "sealed"
    )
    query = f"as_of={snapshot.position}"
    base = f"{HOME}/{snapshot.cycle_id}"
    context.update(
        pack=pack,
        cycle_id=snapshot.cycle_id,
        cycle=snapshot.document["cycle"],
        summary=board_summary(snapshot.document, sealed=sealed_shown),
        links={
            "html": f"{base}/board-pack.html?{query}",
            "pdf": f"{base}/board-pack.pdf?{query}",
            "pdf_sha256": f"{base}/pdf-sha256?{query}",
            "verify": f"{base}/verify?position={snapshot.position}&digest={snapshot.digest}",
            "api_pdf": f"{str(request.base_url).rstrip('/')}/v1/cycles/{snapshot.cycle_id}"
            f"/snapshot/export?format=pdf&{query}",
        },
        pdf_sha256=None,
        pdf_problem=None,
    )
    if with_pdf:
        try:
            context["pdf_sha256"] = hashlib.sha256(pack.pdf()).hexdigest()
        except PdfUnavailable as exc:
            context["pdf_problem"] = str(exc)
    return render(request, "quarter_end_snapshot.html", context, block=block)
