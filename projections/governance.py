"""Guardrail governance as documents: every policy version (proposer, approver, digest,
status, whether it decides the same under both engines and who accepted that it does not)
and every decision the policies made, allowed, denied or failed."""

from collections.abc import Callable
from typing import Any

from events.decision import Decision
from events.policy import PolicyVersion
from projections.documents import Document, DocumentBatch
from projections.follower import DispatchingProjection, Handler, event_time

POLICY, DECISION = "policy", "decision"


def _proposed(e: PolicyVersion.Proposed, docs: DocumentBatch) -> None:
    doc: Document = {
        "id": str(e.originator_id),
        "number": e.number,
        "description": e.description,
        "digest": e.digest,
        "modules": e.modules,
        "tests": e.tests,
        "data": e.data,
        "divergence": e.divergence,
        "status": "proposed",
        "proposed_by": e.actor,
        "proposed_at": event_time(e),
        "approved_by": None,
        "approved_at": None,
        "retired_at": None,
        "superseded_by": None,
        "divergence_acknowledgement": None,
    }
    docs.put(POLICY, doc["id"], doc, scope="proposed")


def _approved(doc: Document, e: PolicyVersion.Approved) -> None:
    doc.update(
        status="active",
        approved_by=e.actor,
        approved_at=event_time(e),
        divergence_acknowledgement=(
            {**e.acknowledgement, "at": event_time(e)} if e.acknowledgement else None
        ),
    )


def _policy_change(apply: Callable[[Document, Any], None]) -> Callable[[Any, DocumentBatch], None]:
    def handle(e: Any, docs: DocumentBatch) -> None:
        doc = docs.require(POLICY, str(e.originator_id))
        apply(doc, e)
        docs.put(POLICY, doc["id"], doc, scope=doc["status"])

    return handle


def _decision(e: Decision.Recorded, docs: DocumentBatch) -> None:
    doc: Document = {
        "id": str(e.originator_id),
        "position": docs.position,
        "at": event_time(e),
        "actor": e.actor,
        "roles": e.roles,
        "correlation_id": e.correlation_id,
        "action": e.action,
        "target_kind": e.target_kind,
        "target_id": str(e.target_id) if e.target_id else None,
        "outcome": e.outcome,
        "deny": e.deny,
        "warn": e.warn,
        "policy_version": e.policy_version,
        "bundle_digest": e.bundle_digest,
        "input_digest": e.input_digest,
        "error": e.error,
    }
    docs.put(DECISION, doc["id"], doc, scope=e.outcome)


_HANDLERS: dict[type, Handler] = {
    PolicyVersion.Proposed: _proposed,
    PolicyVersion.Approved: _policy_change(_approved),
    PolicyVersion.Retired: _policy_change(
        lambda d, e: d.update(
            status="retired", retired_at=event_time(e), superseded_by=e.superseded_by
        )
    ),
    Decision.Recorded: _decision,
}


class Governance(DispatchingProjection):
    """Read model behind /v1/policies and /v1/decisions."""

    name = "governance"
    handlers = _HANDLERS
