"""Key results: add to an objective, read, revise before lock, retire, check in weekly.
After lock a revision answers 409 and names the change-request route."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from projections import owned
from projections.documents import Document
from projections.owned import owner_asked
from services.api.deps import Commands, CurrentPrincipal, OkrReads, Reads, written
from services.api.errors import READ_ERRORS
from services.api.schemas.common import Retirement
from services.api.schemas.key_results import (
    KeyResult,
    KeyResultFilter,
    KeyResultRevision,
    KeyResults,
    NewCheckIn,
    NewKeyResult,
)
from services.application.ledger import Recorded

router = APIRouter(prefix="/v1", tags=["key results"])


@router.post(
    "/objectives/{objective_id}/key-results",
    status_code=201,
    response_model=KeyResult,
    responses=written(201),
)
async def add_key_result(objective_id: UUID, body: NewKeyResult, cmd: Commands) -> Document:
    """Add a key result while the cycle is in planning (the objective's owner or an exec)."""
    definition = body.model_dump(mode="json")
    return await cmd.answer(
        lambda ledger, who: ledger.add_key_result(who, objective_id, definition), _key_result
    )


@router.get("/key-results", response_model=KeyResults, responses=READ_ERRORS)
def list_key_results(
    reads: OkrReads, principal: CurrentPrincipal, query: Annotated[KeyResultFilter, Query()]
) -> Document:
    """Key results in the order they were added; of one owner given ``owner`` (``me``: the
    caller), of one cycle given ``cycle_id`` (404 when there is no such cycle). Any role
    reads them, members included: what ``GET /v1/objectives`` shows, by key result."""
    owner = owner_asked(query.owner, principal.user)
    return {"items": owned.key_results(reads.okr, owner, query.cycle_id)}


@router.get("/key-results/{key_result_id}", response_model=KeyResult, responses=READ_ERRORS)
def get_key_result(key_result_id: UUID, reads: OkrReads) -> Document:
    return reads.okr.key_result(key_result_id)


@router.patch("/key-results/{key_result_id}", response_model=KeyResult, responses=written())
async def revise_key_result(
    key_result_id: UUID, body: KeyResultRevision, cmd: Commands
) -> Document:
    """Change definition fields before lock; after lock: 409, file a change request."""
    changes, reason = body.given(), body.reason
    return await cmd.answer(
        lambda ledger, who: ledger.revise_key_result(who, key_result_id, changes, reason),
        _key_result,
    )


@router.post("/key-results/{key_result_id}/retire", response_model=KeyResult, responses=written())
async def retire_key_result(key_result_id: UUID, body: Retirement, cmd: Commands) -> Document:
    return await cmd.answer(
        lambda ledger, who: ledger.retire_key_result(who, key_result_id, body.reason),
        _key_result,
    )


@router.post(
    "/key-results/{key_result_id}/check-ins",
    status_code=201,
    response_model=KeyResult,
    responses=written(201),
)
async def check_in(key_result_id: UUID, body: NewCheckIn, cmd: Commands) -> Document:
    """The weekly value, confidence (0 to 1) and note, and the date of the week it
    reports (``effective_on``, today if left out; not in the future, not outside the
    cycle); answers the updated key result."""
    return await cmd.answer(
        lambda ledger, who: ledger.check_in(
            who, key_result_id, body.value, body.confidence, body.note, body.effective_on
        ),
        _key_result,
    )


def _key_result(reads: Reads, done: Recorded) -> Document:
    return reads.okr.key_result(done.id)
