"""Change requests: after lock, the only way what a cycle scores changes (a key result or
an objective revised or retired, a key result or an objective added), decided by someone
other than the requester in a role allowed to approve; approval applies the change in the
same save."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query

from projections.documents import Document
from services.api.deps import Commands, OkrReads, PlatformDep, written
from services.api.errors import READ_ERRORS
from services.api.schemas.change_requests import (
    ChangeRequestFilter,
    ChangeRequestNow,
    ChangeRequests,
    KeyResultAddition,
    KeyResultChangeRequest,
    NewChangeRequest,
    ObjectiveAddition,
    ObjectiveChangeRequest,
)
from services.api.schemas.common import Decision
from services.application.directory import Directory
from services.application.ledger import Recorded

router = APIRouter(prefix="/v1/change-requests", tags=["change requests"])


def with_requester(directory: Directory, request: Document) -> Document:
    """The request with ``requester_active``: whether its requester may still act, as the
    directory says now (a deactivated requester's open request is flagged to approvers).
    Read when answered, never recorded."""
    return {**request, "requester_active": not directory.is_deactivated(request["requested_by"])}


_SHAPES = (
    "Name exactly one target. `key_result_id` with `changes` or `retire: true`: revise or "
    "retire a key result. `objective_id` with `changes` (title, description, owner, level, "
    "commitment, parent_id) or `retire: true`: revise or retire an objective. `objective_id` "
    "with `new_key_result`: add a key result. `cycle_id` with `new_objective`: add an "
    "objective. The cycle must be locked (before lock, change things directly)."
)


@router.post("", status_code=201, response_model=ChangeRequestNow, responses=written(201))
def request_change(
    body: Annotated[NewChangeRequest, Body(description=_SHAPES)],
    cmd: Commands,
    platform: PlatformDep,
) -> Document:
    """Ask for a change after lock; someone else, in a role allowed to approve, decides."""
    ledger, who = cmd.ledger, cmd.principal
    done: Recorded
    match body:
        case KeyResultChangeRequest():
            done = ledger.request_change(
                who, body.key_result_id, body.changes.given(), body.reason, body.retire
            )
        case ObjectiveChangeRequest():
            done = ledger.request_objective_change(
                who, body.objective_id, body.changes.given(), body.reason, body.retire
            )
        case KeyResultAddition():
            definition = body.new_key_result.model_dump(mode="json")
            done = ledger.request_key_result(who, body.objective_id, definition, body.reason)
        case ObjectiveAddition():
            definition = body.new_objective.model_dump(mode="json")
            done = ledger.request_objective(who, body.cycle_id, definition, body.reason)
    return with_requester(platform.directory, cmd.settle(done).okr.change_request(done.id))


@router.get("", response_model=ChangeRequests, responses=READ_ERRORS)
def list_change_requests(
    reads: OkrReads, platform: PlatformDep, query: Annotated[ChangeRequestFilter, Query()]
) -> Document:
    """Every change request, oldest first; filtered by its target (a key result, an
    objective, a cycle) and by status (`?status=pending`: waiting for a decision): every
    filter given must hold. Every role reads every request."""
    found = reads.okr.change_requests(query.targets, query.status)
    return {"items": [with_requester(platform.directory, r) for r in found]}


@router.get("/{change_request_id}", response_model=ChangeRequestNow, responses=READ_ERRORS)
def get_change_request(change_request_id: UUID, reads: OkrReads, platform: PlatformDep) -> Document:
    return with_requester(platform.directory, reads.okr.change_request(change_request_id))


@router.post("/{change_request_id}/approve", response_model=ChangeRequestNow, responses=written())
def approve_change(
    change_request_id: UUID, cmd: Commands, platform: PlatformDep, body: Decision | None = None
) -> Document:
    """Approve and apply the change. Never by its requester (409 four_eyes), and only in a
    role the guardrails allow to approve (403, rule approver_role; shipped: executives)."""
    reason = body.reason if body else None
    done = cmd.ledger.approve_change(cmd.principal, change_request_id, reason)
    return with_requester(platform.directory, cmd.settle(done).okr.change_request(done.id))


@router.post("/{change_request_id}/reject", response_model=ChangeRequestNow, responses=written())
def reject_change(
    change_request_id: UUID, cmd: Commands, platform: PlatformDep, body: Decision | None = None
) -> Document:
    """Reject the request; the same people decide as approve."""
    reason = body.reason if body else None
    done = cmd.ledger.reject_change(cmd.principal, change_request_id, reason)
    return with_requester(platform.directory, cmd.settle(done).okr.change_request(done.id))
