"""The integrity page: the signed checkpoints, the integrity check on request (a button:
it reads the whole store) and an inclusion proof for any event, from the functions
``GET /v1/integrity`` and ``GET /v1/integrity/proof/{position}`` call
(``services.application.integrity_status``), under the same rule."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import HTMLResponse

from infra.persistence import MAX_POSITION
from services.api.deps import PlatformDep
from services.application import integrity_status
from services.application.principals import Principal
from services.console import feedback
from services.console.deps import ConsolePrincipal
from services.console.templating import render

router = APIRouter(prefix="/console", include_in_schema=False)


def console_examiner(principal: ConsolePrincipal) -> Principal:
    return integrity_status.require_examiner(principal)


class ProofQuery(BaseModel):
    """The proof form: the position of an event (as the API's path parameter)."""

    position: int = Field(ge=1, le=MAX_POSITION)


@router.get("/integrity", dependencies=[Depends(console_examiner)])
def integrity_page(
    request: Request,
    platform: PlatformDep,
    check: Annotated[bool, Query()] = False,
    position: Annotated[str, Query(max_length=30)] = "",
) -> HTMLResponse:
    """The checkpoints always; the check when asked (``check``); a proof when a position
    is given. An htmx request gets only the part its form targets."""
    verifier = platform.evidence.verifier()
    context: dict[str, Any] = {
        "report": integrity_status.integrity_report(verifier) if check else None,
        "position": position,
        "proof": None,
        "problem": None,
        "head": platform.ledger.recorder.max_notification_id() or 0,
    }
    if position.strip():
        context.update(_proof(request, verifier, position.strip()))
    status = context["problem"].status if context["problem"] else 200
    target = request.headers.get("HX-Target")
    if target in ("proof", "status"):
        return render(request, "integrity.html", context, status=status, block=target)
    context["checkpoints"] = integrity_status.signed_checkpoints(verifier)
    return render(request, "integrity.html", context, status=status)


def _proof(request: Request, verifier: Any, position: str) -> dict[str, Any]:
    """The proof of the event at ``position``, or the refusal the API would answer."""
    try:
        wanted = feedback.parsed(ProofQuery, {"position": position}).position
        return {"proof": integrity_status.inclusion_proof(verifier, wanted)}
    except Exception as exc:  # a bad number (422), no event or checkpoint there (404)
        found = feedback.refusal(request, exc)
        if found is None:
            raise
        return {"problem": found}
