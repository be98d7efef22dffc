"""The current state of every cycle, objective, key result and change request: latest
check-in, confidence, scores and the alignment links, as JSON documents."""

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from events import ChangeRequest, ChangeRequestStatus, Cycle, CycleState, KeyResult, Objective
from events.values import ChangeKind, TargetKind
from projections.documents import Document, DocumentBatch
from projections.follower import DispatchingProjection, Handler, event_time

CYCLE, OBJECTIVE, KEY_RESULT, CHANGE_REQUEST = "cycle", "objective", "key_result", "change_request"


def _touch(doc: Document, event: Any) -> Document:
    doc["updated_at"] = event_time(event)
    doc["updated_by"] = event.actor
    doc["version"] = event.originator_version
    return doc


# ---- cycles ---------------------------------------------------------------------------


def _cycle_created(e: Cycle.Created, docs: DocumentBatch) -> None:
    doc: Document = {
        "id": str(e.originator_id),
        "name": e.name,
        "starts_on": e.starts_on,
        "ends_on": e.ends_on,
        "state": CycleState.PLANNING,
        "objective_ids": [],
        "created_at": event_time(e),
        "created_by": e.actor,
        "locked_at": None,
        "closed_at": None,
    }
    docs.put(CYCLE, str(e.originator_id), _touch(doc, e))


def _cycle_objective_registered(e: Cycle.ObjectiveRegistered, docs: DocumentBatch) -> None:
    doc = docs.require(CYCLE, str(e.originator_id))
    doc["objective_ids"].append(str(e.objective_id))
    docs.put(CYCLE, str(e.originator_id), _touch(doc, e))


def _cycle_state(state: CycleState, stamp_field: str) -> Callable[[Any, DocumentBatch], None]:
    def handle(e: Any, docs: DocumentBatch) -> None:
        doc = docs.require(CYCLE, str(e.originator_id))
        doc["state"] = state
        doc[stamp_field] = event_time(e)
        docs.put(CYCLE, str(e.originator_id), _touch(doc, e))

    return handle


def _cycle_sealed(e: Cycle.Sealed, docs: DocumentBatch) -> None:
    doc = docs.require(CYCLE, str(e.originator_id))
    doc.update(
        state=CycleState.SEALED,
        sealed_at=event_time(e),
        seal={"position": e.position, "digest": e.digest},
    )
    docs.put(CYCLE, str(e.originator_id), _touch(doc, e))


# ---- objectives -----------------------------------------------------------------------


def _objective_created(e: Objective.Created, docs: DocumentBatch) -> None:
    doc: Document = {
        "id": str(e.originator_id),
        "cycle_id": str(e.cycle_id),
        "title": e.title,
        "description": e.description,
        "owner": e.owner,
        "level": e.level,
        "commitment": e.commitment,
        "parent_id": str(e.parent_id) if e.parent_id else None,
        "status": "active",
        "key_result_ids": [],
        "score": None,
        "created_at": event_time(e),
        "created_by": e.actor,
    }
    docs.put(OBJECTIVE, str(e.originator_id), _touch(doc, e), scope=str(e.cycle_id))


def _objective_change(
    apply: Callable[[Document, Any], None],
) -> Callable[[Any, DocumentBatch], None]:
    def handle(e: Any, docs: DocumentBatch) -> None:
        doc = docs.require(OBJECTIVE, str(e.originator_id))
        apply(doc, e)
        docs.put(OBJECTIVE, doc["id"], _touch(doc, e))

    return handle


def _objective_scored(doc: Document, e: Objective.Scored) -> None:
    doc["score"] = {
        "value": e.score,
        "rule": e.rule,
        "rule_version": e.rule_version,
        "at": event_time(e),
    }


# ---- key results ----------------------------------------------------------------------


def _key_result_added(e: KeyResult.Added, docs: DocumentBatch) -> None:
    doc: Document = {
        "id": str(e.originator_id),
        "objective_id": str(e.objective_id),
        "cycle_id": str(e.cycle_id),
        **e.definition,
        "status": "active",
        "check_in_count": 0,
        "latest_check_in": None,
        "score": None,
        "created_at": event_time(e),
        "created_by": e.actor,
    }
    docs.put(KEY_RESULT, str(e.originator_id), _touch(doc, e), scope=str(e.objective_id))


def _key_result_change(
    apply: Callable[[Document, Any], None],
) -> Callable[[Any, DocumentBatch], None]:
    def handle(e: Any, docs: DocumentBatch) -> None:
        doc = docs.require(KEY_RESULT, str(e.originator_id))
        apply(doc, e)
        docs.put(KEY_RESULT, doc["id"], _touch(doc, e))

    return handle


def _key_result_checked_in(doc: Document, e: KeyResult.CheckedIn) -> None:
    doc["check_in_count"] += 1
    doc["latest_check_in"] = {
        "value": e.value,
        "confidence": e.confidence,
        "note": e.note,
        "effective_on": e.effective_on,
        "at": event_time(e),
        "by": e.actor,
    }


def _key_result_scored(doc: Document, e: KeyResult.Scored) -> None:
    doc["score"] = {
        "value": e.score,
        "final_value": e.final_value,
        "rule": e.rule,
        "rule_version": e.rule_version,
        "at": event_time(e),
    }


# ---- change requests ------------------------------------------------------------------


def _change_requested(e: ChangeRequest.Requested, docs: DocumentBatch) -> None:
    doc: Document = {
        "id": str(e.originator_id),
        "kind": e.kind,
        "target_kind": e.target_kind,
        "target_id": str(e.target_id),
        "key_result_id": str(e.key_result_id) if e.key_result_id else None,
        "objective_id": str(e.objective_id) if e.objective_id else None,
        "cycle_id": str(e.cycle_id) if e.cycle_id else None,
        "changes": e.changes,
        "retire": e.retire,
        "reason": e.reason,
        "requested_by": e.actor,
        "requested_at": event_time(e),
        "status": ChangeRequestStatus.PENDING,
        "decided_by": None,
        "decided_at": None,
        "decision_reason": None,
    }
    docs.put(CHANGE_REQUEST, str(e.originator_id), _touch(doc, e), scope=str(e.target_id))


def _change_decided(status: ChangeRequestStatus) -> Callable[[Any, DocumentBatch], None]:
    def handle(e: Any, docs: DocumentBatch) -> None:
        doc = docs.require(CHANGE_REQUEST, str(e.originator_id))
        doc["status"] = status
        if status != ChangeRequestStatus.APPLIED:
            doc.update(decided_by=e.actor, decided_at=event_time(e), decision_reason=e.reason)
        docs.put(CHANGE_REQUEST, doc["id"], _touch(doc, e))

    return handle


def with_target(request: Document) -> Document:
    """A change request document with its kind and target, also when the view holds it as
    written before requests named them (then it is about a key result)."""
    if "target_id" in request:
        return request
    return {
        **request,
        "kind": ChangeKind.RETIRE if request["retire"] else ChangeKind.REVISE,
        "target_kind": TargetKind.KEY_RESULT,
        "target_id": request["key_result_id"],
        "objective_id": None,
        "cycle_id": None,
    }


def alignment_tree(
    objectives: list[Document], node: Callable[[Document], Document] = dict
) -> list[Document]:
    """Objectives nested under their parents, in the order given, each shown as
    ``node(objective)`` with its ``children`` (the API shows whole documents, a snapshot
    only ids). An objective whose parent is not among them, or that sits in an alignment
    loop (two concurrent re-alignments could make one), is placed at the top level rather
    than lost or recursed into forever."""
    ids = {o["id"] for o in objectives}
    below: dict[str | None, list[Document]] = defaultdict(list)
    for o in objectives:
        below[o["parent_id"] if o["parent_id"] in ids else None].append(o)
    placed: set[str] = set()

    def grow(o: Document) -> Document:
        placed.add(o["id"])
        return {**node(o), "children": [grow(c) for c in below[o["id"]] if c["id"] not in placed]}

    roots = [grow(o) for o in below[None]]
    return roots + [grow(o) for o in objectives if o["id"] not in placed]


_HANDLERS: dict[type, Handler] = {
    Cycle.Created: _cycle_created,
    Cycle.ObjectiveRegistered: _cycle_objective_registered,
    Cycle.Locked: _cycle_state(CycleState.LOCKED, "locked_at"),
    Cycle.Closed: _cycle_state(CycleState.CLOSED, "closed_at"),
    Cycle.Sealed: _cycle_sealed,
    Objective.Created: _objective_created,
    Objective.Revised: _objective_change(
        lambda d, e: d.update(title=e.title, description=e.description)
    ),
    Objective.Reowned: _objective_change(lambda d, e: d.update(owner=e.owner)),
    Objective.Realigned: _objective_change(
        lambda d, e: d.update(parent_id=str(e.parent_id) if e.parent_id else None)
    ),
    Objective.Retired: _objective_change(lambda d, _e: d.update(status="retired")),
    Objective.Amended: _objective_change(lambda d, e: d.update(e.changes)),
    Objective.KeyResultAttached: _objective_change(
        lambda d, e: d["key_result_ids"].append(str(e.key_result_id))
    ),
    Objective.Scored: _objective_change(_objective_scored),
    KeyResult.Added: _key_result_added,
    KeyResult.Revised: _key_result_change(lambda d, e: d.update(e.changes)),
    KeyResult.Retired: _key_result_change(lambda d, _e: d.update(status="retired")),
    KeyResult.CheckedIn: _key_result_change(_key_result_checked_in),
    KeyResult.Scored: _key_result_change(_key_result_scored),
    ChangeRequest.Requested: _change_requested,
    ChangeRequest.Approved: _change_decided(ChangeRequestStatus.APPROVED),
    ChangeRequest.Rejected: _change_decided(ChangeRequestStatus.REJECTED),
    ChangeRequest.Applied: _change_decided(ChangeRequestStatus.APPLIED),
}


class OkrState(DispatchingProjection):
    """Read model behind the OKR query routes."""

    name = "okr_state"
    handlers = _HANDLERS
