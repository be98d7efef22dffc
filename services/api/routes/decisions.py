"""Every decision the guardrails made, allowed, denied or failed, newest first."""

from typing import Annotated

from fastapi import APIRouter, Query

from projections.documents import Document
from services.api.deps import FreshReads
from services.api.errors import READ_ERRORS
from services.api.schemas import DecisionFilter, GuardrailDecisions

router = APIRouter(prefix="/v1/decisions", tags=["guardrail policies"])


@router.get("", response_model=GuardrailDecisions, responses=READ_ERRORS)
def list_decisions(reads: FreshReads, query: Annotated[DecisionFilter, Query()]) -> Document:
    """Each with the policy version, bundle digest and input digest it was made under."""
    return {"items": reads.decisions(query.outcome, query.actor, query.action, query.limit)}
