"""Guardrail governance as documents: every policy version (proposer, approver, digest,
status) and every decision the policies made, allowed, denied or failed."""

from collections.abc import Callable
from typing import Any

from events.decision import Decision
from events.policy import PolicyVersion
from projections.documents import Document, DocumentBatch
from projections.follower import Projection

POLICY, DECISION = "policy", "decision"


def _at(event: Any) -> str:
    return str(event.timestamp.isoformat())


class Governance(Projection):
    """Read model behind /v1/policies and /v1/decisions."""

    name = "governance"

    def apply(self, event: Any, docs: DocumentBatch) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(event, docs)


def _proposed(e: PolicyVersion.Proposed, docs: DocumentBatch) -> None:
    doc: Document = {
        "id": str(e.originator_id),
        "number": e.number,
        "description": e.description,
        "digest": e.digest,
        "modules": e.modules,
        "data": e.data,
        "status": "proposed",
        "proposed_by": e.actor,
        "proposed_at": _at(e),
        "approved_by": None,
        "approved_at": None,
        "retired_at": None,
        "superseded_by": None,
    }
    docs.put(POLICY, doc["id"], doc, scope="proposed")


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
        "at": _at(e),
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


_HANDLERS: dict[type, Callable[[Any, DocumentBatch], None]] = {
    PolicyVersion.Proposed: _proposed,
    PolicyVersion.Approved: _policy_change(
        lambda d, e: d.update(status="active", approved_by=e.actor, approved_at=_at(e))
    ),
    PolicyVersion.Retired: _policy_change(
        lambda d, e: d.update(status="retired", retired_at=_at(e), superseded_by=e.superseded_by)
    ),
    Decision.Recorded: _decision,
}
