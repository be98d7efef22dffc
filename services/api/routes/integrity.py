"""Tamper evidence: recompute the Merkle tree over the raw event table, prove one
event's inclusion under the latest signed checkpoint, and repudiate a checkpoint that
does not verify (four eyes)."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from infra.persistence import MAX_POSITION
from services.api.deps import Command, Commands, CurrentPrincipal, PlatformDep, written
from services.api.errors import POSITION_HEADER, READ_ERRORS
from services.api.schemas.common import Decision
from services.api.schemas.integrity import (
    InclusionProofOut,
    IntegrityReportOut,
    RepudiationRequest,
    SignedCheckpointOut,
)
from services.application import integrity_status
from services.application.evidence.repudiation import Repudiations
from services.application.ledger_base import Recorded
from services.application.principals import Principal

router = APIRouter(prefix="/v1/integrity", tags=["evidence"])


def examiner(principal: CurrentPrincipal) -> Principal:
    """Compliance, executives and risk officers may check the store's integrity."""
    return integrity_status.require_examiner(principal)


Examiner = Annotated[Principal, Depends(examiner)]


@router.get("", response_model=IntegrityReportOut, responses=READ_ERRORS)
def check_integrity(
    platform: PlatformDep,
    _: Examiner,
    checkpoints: Annotated[
        bool, Query(description="also list every signed checkpoint in the store")
    ] = False,
) -> IntegrityReportOut:
    """Read every stored event, compare it with the leaf recorded when it was first seen
    and with every signed checkpoint that verifies under the public keys the store
    records: "intact up to position N", or the first position that does not match and
    why (changed, missing, reordered, inserted, an altered leaf log, a checkpoint's range
    rewritten). Checkpoints that do not verify (unsigned, bad signature, unknown key) are
    listed apart, as rogue until repudiated; they never hide the rows' state."""
    body = integrity_status.integrity_report(platform.evidence.verifier(), checkpoints)
    return IntegrityReportOut.model_validate(body)


@router.get("/proof/{position}", response_model=InclusionProofOut, responses=READ_ERRORS)
def inclusion_proof(
    platform: PlatformDep,
    _: Examiner,
    position: Annotated[int, Path(ge=1, le=MAX_POSITION, description="an event position")],
) -> InclusionProofOut:
    """The RFC 9162 audit path of the event at ``position`` under the latest signed
    checkpoint, checked against the row as stored now (``included``). 404 when no event
    was recorded there or no checkpoint covers it yet."""
    proof = integrity_status.inclusion_proof(platform.evidence.verifier(), position)
    return InclusionProofOut.model_validate(proof)


CheckpointPosition = Annotated[
    int, Path(ge=1, le=MAX_POSITION, description="where the checkpoint is recorded")
]
_REPUDIATION = "/checkpoints/{position}/repudiation"


def _answer(cmd: Command, done: Recorded, position: int) -> SignedCheckpointOut:
    """The checkpoint as judged now, read from the store itself (no view to wait for);
    the caller's next reads of the views still wait for this write."""
    cmd.platform.wrote(cmd.principal.user, done.position)
    cmd.response.headers[POSITION_HEADER] = str(done.position)
    checkpoint = Repudiations(cmd.ledger).checkpoint(position)
    return SignedCheckpointOut.model_validate(asdict(checkpoint))


@router.post(
    _REPUDIATION, status_code=201, response_model=SignedCheckpointOut, responses=written(201)
)
def request_repudiation(
    position: CheckpointPosition, body: RepudiationRequest, cmd: Commands
) -> SignedCheckpointOut:
    """Ask to repudiate the checkpoint at ``position``: one that does not verify under the
    store's keys (409 ``checkpoint_verifies`` otherwise), typically signed by a process
    with a key of its own. Executives and admins (403 for other roles); another of them
    decides. Nothing is deleted: the checkpoint stays, reported as repudiated once
    approved."""
    done = Repudiations(cmd.ledger).request(cmd.principal, position, body.reason)
    return _answer(cmd, done, position)


@router.post(f"{_REPUDIATION}/approve", response_model=SignedCheckpointOut, responses=written())
def approve_repudiation(
    position: CheckpointPosition, cmd: Commands, body: Decision | None = None
) -> SignedCheckpointOut:
    """Approve the pending repudiation: never by its requester (409 ``four_eyes``);
    executives and admins only (403). Verification then reports the checkpoint as
    repudiated, with who and why, and no longer fails on it."""
    reason = body.reason if body else None
    done = Repudiations(cmd.ledger).approve(cmd.principal, position, reason)
    return _answer(cmd, done, position)


@router.post(f"{_REPUDIATION}/reject", response_model=SignedCheckpointOut, responses=written())
def reject_repudiation(
    position: CheckpointPosition, cmd: Commands, body: Decision | None = None
) -> SignedCheckpointOut:
    """Reject the pending repudiation; the same people decide as approve. A new request
    may follow."""
    reason = body.reason if body else None
    done = Repudiations(cmd.ledger).reject(cmd.principal, position, reason)
    return _answer(cmd, done, position)
