"""Bearer tokens on the record: who holds which, issued by whom, until when, revoked by
whom and why. Tokens are issued from the command line (``okrgov token create``); the API
lists them and revokes them, and never shows a token's text."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from services.api.deps import CurrentPrincipal, PlatformDep, written
from services.api.errors import POSITION_HEADER, READ_ERRORS
from services.api.schemas.tokens import Revocation, TokenFilter, TokenRecordOut, TokenRecords
from services.application.principals import Role

router = APIRouter(prefix="/v1/tokens", tags=["access"])


@router.get("", response_model=TokenRecords, responses=READ_ERRORS)
def list_tokens(
    platform: PlatformDep, principal: CurrentPrincipal, query: Annotated[TokenFilter, Query()]
) -> dict[str, Any]:
    """Admins and compliance see every token on record; anyone else their own (a token
    without roles, nothing)."""
    principal.require_reader()
    sees_all = principal.has(Role.ADMIN, Role.COMPLIANCE)
    records = [
        r.as_document()
        for r in platform.tokens.access_list.records()
        if (sees_all or r.subject == principal.user)
        and (query.user is None or r.subject == query.user)
    ]
    return {"items": records}


@router.post("/{token_id}/revoke", response_model=TokenRecordOut, responses=written())
def revoke_token(
    token_id: UUID,
    body: Revocation,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    response: Response,
) -> dict[str, Any]:
    """Revoke a token (admins: any; anyone else but compliance: their own). Every API
    process refuses it within ``OKRGOV_TOKEN_REFRESH_SECONDS``."""
    recorded = platform.tokens.revoke_as(principal, token_id, body.reason)
    platform.wrote(principal.user, recorded.position)
    response.headers[POSITION_HEADER] = str(recorded.position)
    record = platform.tokens.access_list.find(token_id)
    assert record is not None
    return record.as_document()
