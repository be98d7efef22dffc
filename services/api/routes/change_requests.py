"""Change requests: the only way a key result changes after lock, decided by someone
other than the requester (four eyes); approval applies the change in the same save."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from projections.documents import Document
from services.api.deps import Commands, FreshReads, written
from services.api.errors import READ_ERRORS
from services.api.schemas import (
    ChangeRequest,
    ChangeRequestFilter,
    ChangeRequests,
    Decision,
    NewChangeRequest,
)

router = APIRouter(prefix="/v1/change-requests", tags=["change requests"])


@router.post("", status_code=201, response_model=ChangeRequest, responses=written(201))
def request_change(body: NewChangeRequest, cmd: Commands) -> Document:
    done = cmd.ledger.request_change(
        cmd.principal, body.key_result_id, body.changes.given(), body.reason, body.retire
    )
    return cmd.settle(done).change_request(done.id)


@router.get("", response_model=ChangeRequests, responses=READ_ERRORS)
def list_change_requests(
    reads: FreshReads, query: Annotated[ChangeRequestFilter, Query()]
) -> Document:
    """Every change request (to one key result, given ``key_result_id``), oldest first."""
    return {"items": reads.change_requests(query.key_result_id)}


@router.get("/{change_request_id}", response_model=ChangeRequest, responses=READ_ERRORS)
def get_change_request(change_request_id: UUID, reads: FreshReads) -> Document:
    return reads.change_request(change_request_id)


@router.post("/{change_request_id}/approve", response_model=ChangeRequest, responses=written())
def approve_change(
    change_request_id: UUID, cmd: Commands, body: Decision | None = None
) -> Document:
    """Approve and apply the change; the requester cannot approve it (409 four_eyes)."""
    reason = body.reason if body else None
    done = cmd.ledger.approve_change(cmd.principal, change_request_id, reason)
    return cmd.settle(done).change_request(done.id)


@router.post("/{change_request_id}/reject", response_model=ChangeRequest, responses=written())
def reject_change(change_request_id: UUID, cmd: Commands, body: Decision | None = None) -> Document:
    reason = body.reason if body else None
    done = cmd.ledger.reject_change(cmd.principal, change_request_id, reason)
    return cmd.settle(done).change_request(done.id)
