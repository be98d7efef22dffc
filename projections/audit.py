"""The audit trail: one entry per event, in store order, saying who did what to which
aggregate (and so to which objective), when, why, under which correlation id, which fields
changed from what to what, and which policy decision let it through.

"Before" values come from the state of each aggregate as the audit view itself has seen
it (kept as documents in the same view), so the trail needs nothing but the events.

Partition-safe: applying an event reads and writes only the state of the event's own
aggregate and what the event carries, so the trail comes out the same, row for row, when
the events arrive in any order that keeps each aggregate's own order (a topic keyed by
aggregate id). What relates aggregates is carried in the events: a change request and a
decision name their objective, and an allowed decision names the events of its command;
the decision is attached to those entries through links joined when the trail is read.

Over 300 lines on purpose: what an entry says of each event and the export columns that
write it out (a check-in's ``effective_on`` among them) are one public format, kept in
one place so that they change together."""

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from events import ChangeRequestStatus, CycleState
from infra import csv_writer
from projections.entries import (
    EFFECTIVE_ON,
    EXPORT_COLUMNS,
    Entry,
    EntryBatch,
    EntryProjection,
    json_value,
    timestamp_text,
)

DECISION = "Decision.Recorded"
#: What every event carries; the rest of its fields are what it says.
_ENVELOPE = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "actor",
     "correlation_id", "reason"}
)  # fmt: skip


#: Values JSON carries as they are (by exact type: an enum that is also a str is not one).
_AS_THEY_ARE = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """A value as JSON can carry it: ids and times as text, enums by value."""
    kind = type(value)
    if kind in _AS_THEY_ARE:
        return value
    if kind is dict:
        return {
            (k if type(k) is str else str(k)): (v if type(v) in _AS_THEY_ARE else plain(v))
            for k, v in value.items()
        }
    if kind is list:
        return [v if type(v) in _AS_THEY_ARE else plain(v) for v in value]
    if isinstance(value, UUID | datetime | Enum):
        return json_value(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def own_fields(event: Any) -> dict[str, Any]:
    """What an event says beyond who, when, why: its own fields, as plain values."""
    if not is_dataclass(event):
        return {}
    return {name: plain(getattr(event, name)) for name in _own_names(type(event))}


def _own_names(kind: Any) -> tuple[str, ...]:
    """The names of a dataclass's own fields, looked up once per class."""
    names = _OWN_NAMES.get(kind)
    if names is None:
        names = _OWN_NAMES[kind] = tuple(f.name for f in fields(kind) if f.name not in _ENVELOPE)
    return names


_OWN_NAMES: dict[type, tuple[str, ...]] = {}


@dataclass
class Effect:
    """What one event does to its aggregate, as the audit trail reports it."""

    updates: dict[str, Any] = field(default_factory=dict)
    """Fields of the aggregate the event sets: reported with their value before."""
    added: dict[str, Any] = field(default_factory=dict)
    """Members the event adds to a collection (an objective registered, a key result
    attached): reported as new, not kept as a field."""
    repeats: bool = False
    """Report every update even when unchanged (a check-in may repeat last week's value)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Facts about the event that are not fields of the aggregate."""
    objective_id: str | None = None
    """The objective the entry concerns when the aggregate does not say (cycle events)."""


Handler = Callable[[Any], Effect]


def _said(event: Any) -> Effect:
    return Effect(updates=own_fields(event))


def _status(key: str, value: str, *, said: bool = True) -> Handler:
    def handle(event: Any) -> Effect:
        return Effect(updates={**(own_fields(event) if said else {}), key: value})

    return handle


def _adds(event: Any) -> Effect:
    said = own_fields(event)
    return Effect(added=said, objective_id=said.get("objective_id"))


def _noted(event: Any) -> Effect:
    said = own_fields(event)
    return Effect(details=said, objective_id=said.get("objective_id"))


def _created(status: str) -> Handler:
    """A creation: its fields become the aggregate's, with a status; the change request
    that added it after lock (if any) is a fact about the event, not a field."""

    def handle(event: Any) -> Effect:
        said = own_fields(event)
        request = said.pop("change_request_id", None)
        said.update(said.pop("definition", {}))
        details = {"change_request_id": request} if request else {}
        return Effect(updates={**said, "status": status}, details=details)

    return handle


def _by_change_request(updates: Callable[[Any], dict[str, Any]]) -> Handler:
    def handle(event: Any) -> Effect:
        request = event.change_request_id
        details = {"change_request_id": str(request)} if request else {}
        return Effect(updates=updates(event), details=details)

    return handle


def _checked_in(event: Any) -> Effect:
    """A check-in's value, confidence and note; the week it reports (``effective_on``)
    is a fact about the check-in, beside the time it was recorded (the entry's ``at``)."""
    said = own_fields(event)
    details = {EFFECTIVE_ON: said.pop(EFFECTIVE_ON)} if EFFECTIVE_ON in said else {}
    return Effect(updates=said, repeats=True, details=details)


#: A decision's fields that are its entry's decision columns (the outcome, version and
#: digest) or linked to it (the covered events): not among its details.
_DECISION_COLUMNS = frozenset({"outcome", "policy_version", "bundle_digest", "covers"})


def _decision(event: Any) -> Effect:
    # The details are written as JSON and never compared, so they are left as decoded
    # (ids and times as they are: the entries' encoder writes them as ``plain`` would)
    # rather than copied into plain values first: a decision carries its whole input.
    said = {
        name: getattr(event, name)
        for name in _own_names(type(event))
        if name not in _DECISION_COLUMNS
    }
    return Effect(details=said, objective_id=plain(said.pop("objective_id")))


#: By event name (``Aggregate.Event``), so events this module does not import (or that
#: do not exist yet) are still reported: any other event sets the fields it carries.
HANDLERS: dict[str, Handler] = {
    "Cycle.Created": _status("state", CycleState.PLANNING),
    "Cycle.ObjectiveRegistered": _adds,
    "Cycle.AlignmentRecorded": _noted,
    "Cycle.Locked": _status("state", CycleState.LOCKED),
    "Cycle.Closed": _status("state", CycleState.CLOSED),
    "Cycle.Sealed": _status("state", CycleState.SEALED),
    "Objective.Created": _created("active"),
    "Objective.Retired": _by_change_request(lambda _e: {"status": "retired"}),
    "Objective.Amended": _by_change_request(lambda e: plain(e.changes)),
    "Objective.KeyResultAttached": _adds,
    "KeyResult.Added": _created("active"),
    "KeyResult.Revised": _by_change_request(lambda e: plain(e.changes)),
    "KeyResult.Retired": _by_change_request(lambda _e: {"status": "retired"}),
    "KeyResult.CheckedIn": _checked_in,
    "ChangeRequest.Requested": _status("status", ChangeRequestStatus.PENDING),
    "ChangeRequest.Approved": _status("status", ChangeRequestStatus.APPROVED),
    "ChangeRequest.Rejected": _status("status", ChangeRequestStatus.REJECTED),
    "ChangeRequest.Applied": _status("status", ChangeRequestStatus.APPLIED),
    "PolicyVersion.Proposed": _status("status", "proposed"),
    "PolicyVersion.Approved": _status("status", "active"),
    "PolicyVersion.Retired": _status("status", "retired"),
    "PolicyRegistry.VersionNumbered": _adds,
    DECISION: _decision,
}


class AuditTrail(EntryProjection):
    """Read model behind ``GET /v1/audit``, its exports and the compliance views."""

    name = "audit"

    def record(self, event: Any, batch: EntryBatch) -> None:
        action = type(event).__qualname__
        aggregate_type = action.split(".")[0]
        aggregate_id = str(event.originator_id)
        effect = HANDLERS.get(action, _said)(event)
        entry: Entry = {
            "position": batch.position,
            "at": timestamp_text(event.timestamp),
            "actor": getattr(event, "actor", None),
            "action": action,
            "aggregate_type": aggregate_type,
            "aggregate_id": aggregate_id,
            "aggregate_version": event.originator_version,
            "objective_id": effect.objective_id,
            "changes": {},
            "reason": getattr(event, "reason", None),
            "correlation_id": getattr(event, "correlation_id", None),
            "decision_id": None,
            "decision_outcome": None,
            "policy_version": None,
            "policy_digest": None,
            "details": effect.details,
        }
        if action == DECISION:
            self._decided(event, entry, batch)
        else:
            state = batch.get(aggregate_type, aggregate_id) or {"fields": {}, "objective_id": None}
            if action == "Objective.Created":
                state["objective_id"] = aggregate_id
            elif action in ("KeyResult.Added", "ChangeRequest.Requested"):
                state["objective_id"] = effect.updates["objective_id"]
            entry["objective_id"] = entry["objective_id"] or state["objective_id"]
            entry["changes"] = _changes(state["fields"], effect)
            state["fields"].update(effect.updates)
            batch.put(aggregate_type, aggregate_id, state)
        batch.add(entry)

    def _decided(self, event: Any, entry: Entry, batch: EntryBatch) -> None:
        """A decision is an entry of its own, linked to itself; an allowed one is linked
        to every event of its command too (a denied or failed one covers nothing)."""
        decision = {
            "decision_id": str(event.originator_id),
            "decision_outcome": event.outcome,
            "policy_version": event.policy_version,
            "policy_digest": event.bundle_digest,
        }
        entry.update(decision)
        rules = sorted({v["rule"] for v in [*event.deny, *event.warn]})
        entry["rules"] = rules or None
        batch.link(entry["aggregate_id"], entry["aggregate_version"], decision)
        for ident, version in event.covers:
            batch.link(str(ident), version, decision)


def _changes(before: dict[str, Any], effect: Effect) -> dict[str, dict[str, Any]]:
    changes = {
        name: {"before": before.get(name), "after": value}
        for name, value in effect.updates.items()
        if effect.repeats or before.get(name) != value
    }
    for name, value in effect.added.items():
        changes[name] = {"before": None, "after": value}
    return changes


# ---- exports --------------------------------------------------------------------------


def exported(entry: Entry) -> dict[str, Any]:
    """An entry as exports list it, in ``EXPORT_COLUMNS`` order (a check-in's
    ``effective_on``, the date of the week it reports, last)."""
    return {c: entry[c] for c in EXPORT_COLUMNS}


def csv_lines(entries: Iterable[Entry]) -> Iterator[str]:
    """A header and one CSV line per entry, columns in ``EXPORT_COLUMNS`` order; the
    changes and details cells hold compact JSON. Written by the one CSV writer, so text a
    spreadsheet would run as a formula (a ``reason`` of ``=HYPERLINK(...)``) is
    neutralised."""
    rows = (list(exported(entry).values()) for entry in entries)
    return csv_writer.csv_lines(EXPORT_COLUMNS, rows)


def jsonl_lines(entries: Iterable[Entry]) -> Iterator[str]:
    """One JSON object per line, keys in ``EXPORT_COLUMNS`` order."""
    for entry in entries:
        yield json.dumps(exported(entry), separators=(",", ":")) + "\n"


EXPORTS: dict[str, Callable[[Iterable[Entry]], Iterator[str]]] = {
    "csv": csv_lines,
    "jsonl": jsonl_lines,
}
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
