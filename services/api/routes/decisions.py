"""Every decision the guardrails made, allowed, denied or failed, newest first: all of them
for compliance, executives and risk officers; anyone else's own."""

from typing import Annotated

from fastapi import APIRouter, Query

from projections.documents import Document
from services.api.deps import CurrentPrincipal, GovernanceReads
from services.api.errors import READ_ERRORS
from services.api.schemas.decisions import DecisionFilter, GuardrailDecisions
from services.application.principals import OVERSEERS

router = APIRouter(prefix="/v1/decisions", tags=["guardrail policies"])


@router.get("", response_model=GuardrailDecisions, responses=READ_ERRORS)
def list_decisions(
    reads: GovernanceReads, principal: CurrentPrincipal, query: Annotated[DecisionFilter, Query()]
) -> Document:
    """Each with the policy version, bundle digest and input digest it was made under.
    Members and admins see their own decisions only (others' denied attempts are
    compliance data): for them ``actor`` is themselves, and naming anyone else is 403."""
    actor = query.actor
    if actor is not None and actor != principal.user:
        principal.require_oversight(
            f"you see your own decisions only; everyone's are read by {OVERSEERS}"
        )
    if not principal.oversees:
        actor = principal.user
    return {"items": reads.governance.decisions(query.outcome, actor, query.action, query.limit)}
