"""A key result's check-ins and whole history, for scripts: what its console page shows,
read from the audit trail by ``services.application.key_result_history``. Any reader reads
them (they are the OKRs' history); a guardrail decision's rules are shown to oversight and
to its own actor only, as ``GET /v1/decisions`` shows them."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from projections.documents import Document
from projections.runner import AUDIT, OKR_STATE
from services.api.deps import CurrentPrincipal, Reads, reads
from services.api.errors import READ_ERRORS
from services.api.schemas.key_result_history import CheckIns, KeyResultHistory
from services.application import key_result_history

router = APIRouter(prefix="/v1/key-results", tags=["key results"])

#: Reads of a key result (the OKR state) and its events (the audit trail).
HistoryReads = Annotated[Reads, Depends(reads(OKR_STATE, AUDIT))]


@router.get("/{key_result_id}/check-ins", response_model=CheckIns, responses=READ_ERRORS)
def list_check_ins(key_result_id: UUID, reads: HistoryReads) -> Document:
    """Every check-in of the key result, oldest first (not only the latest): value,
    confidence, note, the week it reports (``effective_on``) and when it was recorded."""
    reads.okr.key_result(key_result_id)  # 404 for no such key result
    return {"items": key_result_history.check_ins(reads.audit, key_result_id)}


@router.get("/{key_result_id}/history", response_model=KeyResultHistory, responses=READ_ERRORS)
def get_history(key_result_id: UUID, reads: HistoryReads, principal: CurrentPrincipal) -> Document:
    """The key result, its change requests, and every event about it in store order:
    added, check-ins, revisions (before and after), change requests (requested, approved
    or rejected, applied: who and why) and the guardrail decisions about it."""
    return key_result_history.history(reads.okr, reads.audit, principal, key_result_id)
