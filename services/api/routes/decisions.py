"""Every decision the guardrails made, allowed, denied or failed, newest first: all of them
for compliance, executives and risk officers; anyone else's own. And one of them judged
again under every engine (``/{id}/replay``): does it still stand?"""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from policies.engines import EngineChoice, chosen
from projections.documents import Document
from services.api.deps import CurrentPrincipal, GovernanceReads, PlatformDep
from services.api.errors import READ_ERRORS
from services.api.schemas.decision_standing import DecisionStanding
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


@router.get("/{decision_id}/replay", response_model=DecisionStanding, responses=READ_ERRORS)
def replay_decision(
    decision_id: UUID,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    engine: Annotated[
        EngineChoice,
        Query(description="the engine(s) to judge it again under: embedded, opa or both"),
    ] = "both",
) -> Document:
    """One recorded decision judged again under the policy version it names, on the
    input it kept, by regorus and OPA's Go evaluator, and compared with what was
    recorded: ``stands`` when it is replayable, the version's bundle still has the
    recorded digest and every engine agrees. Read from the event store itself (never a
    view), judged in a review worker within ``OKRGOV_SIMULATE_BUDGET_SECONDS`` (503
    ``simulation_timeout`` past it; 503 ``policy_engine_unavailable`` when OPA's
    evaluator cannot be loaded). Same access as the list: members and admins replay
    their own decisions only. Records nothing."""
    return platform.ledger.replay_decision(principal, decision_id, chosen(engine))
