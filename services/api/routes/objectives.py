"""Objectives: create, read with their key results, revise, re-own, re-align, retire."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from projections import owned
from projections.documents import Document
from projections.owned import owner_asked
from services.api.deps import Commands, CurrentPrincipal, OkrReads, written
from services.api.errors import READ_ERRORS
from services.api.schemas.common import Retirement
from services.api.schemas.objectives import (
    NewObjective,
    ObjectiveDetail,
    ObjectiveFilter,
    ObjectiveRevision,
    Objectives,
    Realignment,
    Reowning,
)

router = APIRouter(prefix="/v1/objectives", tags=["objectives"])


@router.post("", status_code=201, response_model=ObjectiveDetail, responses=written(201))
def create_objective(body: NewObjective, cmd: Commands) -> Document:
    """Members write objectives they own; only executives write company-level ones."""
    done = cmd.ledger.create_objective(
        cmd.principal,
        body.cycle_id,
        body.title,
        body.owner,
        body.level,
        body.commitment,
        body.description,
        body.parent_id,
    )
    return cmd.settle(done).okr.objective(done.id)


@router.get("", response_model=Objectives, responses=READ_ERRORS)
def list_objectives(
    reads: OkrReads, principal: CurrentPrincipal, query: Annotated[ObjectiveFilter, Query()]
) -> Document:
    """Every objective, each with its key results; of one cycle given ``cycle_id`` (404
    when there is no such cycle), of one owner given ``owner`` (``me``: the caller). Any
    role reads them, members included."""
    owner = owner_asked(query.owner, principal.user)
    return {"items": owned.objectives(reads.okr, owner, query.cycle_id)}


@router.get("/{objective_id}", response_model=ObjectiveDetail, responses=READ_ERRORS)
def get_objective(objective_id: UUID, reads: OkrReads) -> Document:
    return reads.okr.objective(objective_id)


@router.patch("/{objective_id}", response_model=ObjectiveDetail, responses=written())
def revise_objective(objective_id: UUID, body: ObjectiveRevision, cmd: Commands) -> Document:
    done = cmd.ledger.revise_objective(
        cmd.principal, objective_id, body.title, body.description, body.reason
    )
    return cmd.settle(done).okr.objective(done.id)


@router.post("/{objective_id}/reown", response_model=ObjectiveDetail, responses=written())
def reown_objective(objective_id: UUID, body: Reowning, cmd: Commands) -> Document:
    done = cmd.ledger.reown_objective(cmd.principal, objective_id, body.owner, body.reason)
    return cmd.settle(done).okr.objective(done.id)


@router.post("/{objective_id}/realign", response_model=ObjectiveDetail, responses=written())
def realign_objective(objective_id: UUID, body: Realignment, cmd: Commands) -> Document:
    """Move the objective under another parent of the same cycle (null: top level)."""
    done = cmd.ledger.realign_objective(cmd.principal, objective_id, body.parent_id, body.reason)
    return cmd.settle(done).okr.objective(done.id)


@router.post("/{objective_id}/retire", response_model=ObjectiveDetail, responses=written())
def retire_objective(objective_id: UUID, body: Retirement, cmd: Commands) -> Document:
    done = cmd.ledger.retire_objective(cmd.principal, objective_id, body.reason)
    return cmd.settle(done).okr.objective(done.id)
