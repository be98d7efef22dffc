"""Key results: add to an objective, read, revise before lock, retire, check in weekly.
After lock a revision answers 409 and names the change-request route."""

from uuid import UUID

from fastapi import APIRouter

from projections.documents import Document
from services.api.deps import Commands, OkrReads, written
from services.api.errors import READ_ERRORS
from services.api.schemas.common import Retirement
from services.api.schemas.key_results import KeyResult, KeyResultRevision, NewCheckIn, NewKeyResult

router = APIRouter(prefix="/v1", tags=["key results"])


@router.post(
    "/objectives/{objective_id}/key-results",
    status_code=201,
    response_model=KeyResult,
    responses=written(201),
)
def add_key_result(objective_id: UUID, body: NewKeyResult, cmd: Commands) -> Document:
    """Add a key result while the cycle is in planning (the objective's owner or an exec)."""
    done = cmd.ledger.add_key_result(cmd.principal, objective_id, body.model_dump(mode="json"))
    return cmd.settle(done).okr.key_result(done.id)


@router.get("/key-results/{key_result_id}", response_model=KeyResult, responses=READ_ERRORS)
def get_key_result(key_result_id: UUID, reads: OkrReads) -> Document:
    return reads.okr.key_result(key_result_id)


@router.patch("/key-results/{key_result_id}", response_model=KeyResult, responses=written())
def revise_key_result(key_result_id: UUID, body: KeyResultRevision, cmd: Commands) -> Document:
    """Change definition fields before lock; after lock: 409, file a change request."""
    done = cmd.ledger.revise_key_result(cmd.principal, key_result_id, body.given(), body.reason)
    return cmd.settle(done).okr.key_result(done.id)


@router.post("/key-results/{key_result_id}/retire", response_model=KeyResult, responses=written())
def retire_key_result(key_result_id: UUID, body: Retirement, cmd: Commands) -> Document:
    done = cmd.ledger.retire_key_result(cmd.principal, key_result_id, body.reason)
    return cmd.settle(done).okr.key_result(done.id)


@router.post(
    "/key-results/{key_result_id}/check-ins",
    status_code=201,
    response_model=KeyResult,
    responses=written(201),
)
def check_in(key_result_id: UUID, body: NewCheckIn, cmd: Commands) -> Document:
    """The weekly value, confidence (0 to 1) and note; answers the updated key result."""
    done = cmd.ledger.check_in(cmd.principal, key_result_id, body.value, body.confidence, body.note)
    return cmd.settle(done).okr.key_result(done.id)
