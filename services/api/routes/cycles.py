"""Planning cycles: open, read (with the alignment tree), lock and close."""

from uuid import UUID

from fastapi import APIRouter

from projections.documents import Document
from services.api.deps import Commands, OkrReads, written
from services.api.errors import READ_ERRORS
from services.api.schemas.cycles import Cycle, CycleClosing, Cycles, CycleTree, NewCycle

router = APIRouter(prefix="/v1/cycles", tags=["cycles"])


@router.post("", status_code=201, response_model=Cycle, responses=written(201))
def open_cycle(body: NewCycle, cmd: Commands) -> Document:
    """Open a planning cycle (executives and admins). Its name must be free: 409
    ``cycle_name_taken`` names the cycle that has it."""
    done = cmd.ledger.open_cycle(cmd.principal, body.name, body.starts_on, body.ends_on)
    return cmd.settle(done).okr.cycle(done.id)


@router.get("", response_model=Cycles, responses=READ_ERRORS)
def list_cycles(reads: OkrReads) -> Document:
    return {"items": reads.okr.cycles()}


@router.get("/{cycle_id}", response_model=CycleTree, responses=READ_ERRORS)
def get_cycle(cycle_id: UUID, reads: OkrReads) -> Document:
    """The cycle with its objectives nested by alignment, each with its key results."""
    return reads.okr.cycle_tree(cycle_id)


@router.post("/{cycle_id}/lock", response_model=Cycle, responses=written())
def lock_cycle(cycle_id: UUID, cmd: Commands) -> Document:
    """Freeze the definitions: from now on key results change only by change request."""
    done = cmd.ledger.lock_cycle(cmd.principal, cycle_id)
    return cmd.settle(done).okr.cycle(done.id)


@router.post("/{cycle_id}/close", response_model=Cycle, responses=written())
def close_cycle(cycle_id: UUID, cmd: Commands, body: CycleClosing | None = None) -> Document:
    """Close the cycle and score every live key result and objective. Before the cycle's
    end date the body must give a ``reason`` (422 ``reason_required`` without one); the
    reason is recorded on the close. After the end date no body is needed."""
    reason = body.reason if body is not None else None
    done = cmd.ledger.close_cycle(cmd.principal, cycle_id, reason)
    return cmd.settle(done).okr.cycle(done.id)
