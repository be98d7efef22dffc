"""Tamper evidence: recompute the Merkle tree over the raw event table, and prove one
event's inclusion under the latest signed checkpoint."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from infra.persistence import MAX_POSITION
from services.api.deps import CurrentPrincipal, PlatformDep
from services.api.errors import READ_ERRORS
from services.api.schemas_integrity import InclusionProofOut, IntegrityReportOut
from services.errors import Forbidden
from services.integrity import integrity_of
from services.principals import Principal

router = APIRouter(prefix="/v1/integrity", tags=["evidence"])


def examiner(principal: CurrentPrincipal) -> Principal:
    """Compliance, executives and risk officers may check the store's integrity."""
    if not principal.oversees:
        raise Forbidden("the integrity check is read by compliance, executives and risk officers")
    return principal


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
    and with every signed checkpoint: "intact up to position N", or the first position
    that does not match and why (changed, missing, reordered, inserted, a checkpoint that
    does not verify, an altered leaf log)."""
    report = integrity_of(platform).verify()
    body = {**asdict(report), "status": report.status, "summary": report.summary()}
    if not checkpoints:
        body["checkpoints"] = None
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
    return InclusionProofOut.model_validate(asdict(integrity_of(platform).prove(position)))
