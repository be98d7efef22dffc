"""A key result's whole history in store order, read from the audit trail (no view of its
own): its own events (added, check-ins, revisions with before and after, retired), the
events of the change requests about it (requested, approved or rejected, applied, with
who and why), and the guardrail decisions about it or its requests, each allowed one
attached to the events it let through, each denied or failed one an item of its own.

Who reads what is the API's rule: any reader reads the OKRs and their history (as
``GET /v1/key-results`` and ``GET /v1/change-requests``); a guardrail decision's rules and
warnings are read by oversight, and by everyone else for their own decisions only (as
``GET /v1/decisions``). Another's decision still shows its outcome and policy version on
the event it let through, which is part of the record of that event."""

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from projections.documents import Document
from projections.entries import Entry, EntryQuery, EntryView
from projections.queries import OkrQueries
from services.application.principals import Principal

CHECKED_IN = "KeyResult.CheckedIn"
DECIDED = "Decision.Recorded"
#: The kind of history item each event is (any other event: ``event``).
KINDS = {
    "KeyResult.Added": "added",
    CHECKED_IN: "check_in",
    "KeyResult.Revised": "revision",
    "KeyResult.Retired": "retirement",
    "ChangeRequest.Requested": "change_request",
    "ChangeRequest.Approved": "change_request",
    "ChangeRequest.Rejected": "change_request",
    "ChangeRequest.Applied": "change_request",
    DECIDED: "decision",
}


def reads_decision(principal: Principal, actor: str | None) -> bool:
    """Whether ``principal`` reads a decision's rules: oversight reads everyone's, anyone
    else their own (the rule of ``GET /v1/decisions``)."""
    return principal.oversees or actor == principal.user


def check_ins(audit: EntryView, key_result_id: UUID) -> list[Document]:
    """Every check-in of the key result, oldest first: the value, confidence and note,
    the week it reports (``effective_on``), when it was recorded (``at``) and by whom."""
    query = EntryQuery(aggregate_id=str(key_result_id), action=CHECKED_IN)
    return [_check_in(entry) for entry in audit.pages(query)]


def _check_in(entry: Entry) -> Document:
    said = {name: change["after"] for name, change in entry["changes"].items()}
    return {
        "position": entry["position"],
        "value": said.get("value"),
        "confidence": said.get("confidence"),
        "note": said.get("note") or "",
        "effective_on": entry["effective_on"],
        "at": entry["at"],
        "by": entry["actor"],
    }


def history(
    okr: OkrQueries, audit: EntryView, principal: Principal, key_result_id: UUID
) -> Document:
    """The key result, its change requests, and its history items in store order
    (``NotFound`` if there is no such key result)."""
    key_result = okr.key_result(key_result_id)
    requests = okr.change_requests([("key_result", key_result_id)])
    subjects = [key_result["id"], *(r["id"] for r in requests)]
    entries = [e for subject in subjects for e in audit.pages(EntryQuery(aggregate_id=subject))]
    decisions = _decisions(audit, key_result["objective_id"], set(subjects))
    items = [_item(entry, decisions, principal) for entry in entries]
    linked = {e["decision_id"] for e in entries if e["decision_id"]}
    items += [
        _item(decision, decisions, principal)
        for ident, decision in decisions.items()
        if ident not in linked and reads_decision(principal, decision["actor"])
    ]
    items.sort(key=lambda item: int(item["position"]))
    return {"key_result": key_result, "change_requests": requests, "items": items}


def _decisions(audit: EntryView, objective_id: str, subjects: set[str]) -> dict[str, Entry]:
    """The decisions about the subjects (the key result and its change requests), by id:
    an allowed request names the request it created, a denied one the key result."""
    query = EntryQuery(objective_id=objective_id, action=DECIDED)
    return {
        entry["aggregate_id"]: entry
        for entry in audit.pages(query)
        if entry["details"].get("target_id") in subjects
    }


def _item(entry: Entry, decisions: dict[str, Entry], principal: Principal) -> Document:
    details = entry["details"]
    decision_id = entry["decision_id"]
    own = decisions.get(decision_id) if decision_id else None
    is_decision = entry["action"] == DECIDED
    return {
        "position": entry["position"],
        "at": entry["at"],
        "kind": KINDS.get(entry["action"], "event"),
        "action": entry["action"],
        "subject_id": entry["aggregate_id"],
        "actor": entry["actor"],
        "reason": entry["reason"],
        "changes": {} if is_decision else entry["changes"],
        "effective_on": entry["effective_on"],
        "change_request_id": None if is_decision else details.get("change_request_id"),
        "decision": _decision(entry, own, principal) if decision_id else None,
    }


def _decision(entry: Entry, own: Entry | None, principal: Principal) -> Document:
    """The decision that let ``entry`` through (or ``entry``, a decision itself): its
    outcome and policy version; its command, rules and warnings when they are read."""
    shown = own is not None and reads_decision(principal, own["actor"])
    said: dict[str, Any] = own["details"] if own is not None and shown else {}
    return {
        "id": entry["decision_id"],
        "outcome": entry["decision_outcome"],
        "policy_version": entry["policy_version"],
        "policy_digest": entry["policy_digest"],
        "actor": own["actor"] if shown and own is not None else None,
        "action": said.get("action"),
        "deny": _rules(said.get("deny")) if shown else None,
        "warn": _rules(said.get("warn")) if shown else None,
        "error": said.get("error"),
    }


def _rules(found: Iterable[dict[str, Any]] | None) -> list[dict[str, str]]:
    return [{"rule": str(v.get("rule")), "message": str(v.get("message"))} for v in found or ()]
