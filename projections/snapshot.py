"""Quarter-end snapshots: the state of one cycle as of an event position, computed only from
the events up to that position, serialised as canonical JSON (RFC 8785) with its SHA-256.

A snapshot is a pure function of the event history. The notifications 1..position are read
in store order and folded through the read models' own ``apply`` functions (``OkrState``,
``Governance``, and ``ChangesAfterLock`` below) into an in-memory ``DocumentBatch``; no
database view is read or written, so a snapshot does not depend on how far a projection
has got, and a rebuild cannot change it. The document is then cut from those documents by
an explicit list of fields (``SNAPSHOT_FORMAT`` names that list), so a field a read model
gains later does not change the digest of a snapshot sealed before.

What is digested, and what is not. The canonical document holds the cycle, its objectives
and key results (definitions, last value and confidence, scores with rule and version),
the alignment tree, the changes applied after lock, the active policy version and its
digest, and the counts: all of it carried by the events themselves (ids, values, actors,
the events' own timestamps), so the same history gives the same bytes on every backend and
every run. The store position is NOT in the document: notification ids are assigned by the
database, and two stores holding the same events can number them differently (a PostgreSQL
sequence keeps the ids a rolled-back transaction took, so its log has gaps that a SQLite
copy of the same history does not). The position is returned beside the digest, to say
where in *this* store the snapshot was taken; the digest says what the cycle was.

Reading. The store's snapshot index (``projections.snapshot_index``) names the aggregates
the cycle's creating events link to it (and every policy version); their events up to the
position are read by aggregate id and folded in store order, so the time follows the
cycle's events, not the store's. The fold applies its own membership rules to them, so the
document is the fold of every event (``scan_snapshot_at``, which a store without an index
uses, reads the notifications of the fold's topics 1..position a page at a time). Peak
memory is the cycle's stored events and the documents of one cycle (its objectives, key
results, change requests) and of every policy version.


Over 300 lines on purpose: the snapshot's fold, its document format and its canonical
form are what the digest covers; they change together and are versioned together."""

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from eventsourcing.utils import get_topic

from events import ChangeRequest, Cycle, KeyResult, Objective
from events.decision import EventRef
from events.key_result_definition import FIELD_NAMES
from events.policy import PolicyVersion
from infra.keyset import keyset_pages
from projections import canonical_json
from projections.documents import Document, DocumentBatch
from projections.follower import Projection
from projections.governance import POLICY, Governance
from projections.okr_state import (
    CHANGE_REQUEST,
    CYCLE,
    KEY_RESULT,
    OBJECTIVE,
    OkrState,
    alignment_tree,
)
from projections.snapshot_index import SnapshotIndex

#: Names the shape of the canonical document; recorded with every seal, so a verifier
#: knows which document the digest is over. A change of the shape is a new format, and
#: every earlier format stays derivable (``CHECK_IN_FIELDS``), so old seals still verify.
SNAPSHOT_FORMAT = "okrgov.snapshot/2"
#: The last check-in's fields under each format: /2 added the week it reports
#: (``effective_on``) beside the time it was recorded (``at``). Nothing else differs.
CHECK_IN_FIELDS = {
    "okrgov.snapshot/1": ("value", "confidence", "note", "at", "by"),
    "okrgov.snapshot/2": ("value", "confidence", "note", "effective_on", "at", "by"),
}
SNAPSHOT_FORMATS = frozenset(CHECK_IN_FIELDS)
PAGE_SIZE = 1000

CHANGES = "change_after_lock"

_CYCLE_FIELDS = (
    "id", "name", "starts_on", "ends_on", "state",
    "created_at", "created_by", "locked_at", "closed_at", "sealed_at",
)  # fmt: skip
_OBJECTIVE_FIELDS = (
    "id", "title", "description", "owner", "level", "commitment", "parent_id", "status",
)  # fmt: skip
#: A key result's fields: its definition's (``events.key_result_definition``, in the
#: definition's order) between its id and its status. Inside the digest's format: a field
#: added to the definition is a new format (tests/unit/test_key_result_definition.py).
_KEY_RESULT_FIELDS = ("id", *FIELD_NAMES, "status", "check_in_count")
_OBJECTIVE_SCORE_FIELDS = ("value", "rule", "rule_version", "at")
_KEY_RESULT_SCORE_FIELDS = ("value", "final_value", "rule", "rule_version", "at")


class CycleNotFound(LookupError):
    """The cycle had not been opened yet at that position."""


class EventNotFound(LookupError):
    """The event a snapshot was computed through is not in this store."""


@dataclass(frozen=True)
class Snapshot:
    """One cycle as of one store position: the document, its canonical bytes and digest,
    and ``through``, the event at that position, which identifies the same point of the
    history in any copy of the store, whatever positions the copy gives its events, and
    ``at``, when that event was recorded (what a report says it is "as of"). Neither is in
    the document: the digest says what the cycle was, not where or when it was read."""

    cycle_id: UUID
    position: int
    document: Document
    canonical: bytes
    digest: str
    through: EventRef | None = None
    at: datetime | None = None


def jcs(document: Document) -> bytes:
    """RFC 8785 (JSON Canonicalization Scheme): keys sorted by UTF-16 code units, no
    whitespace, numbers as ECMAScript prints them (1.0 -> 1), strings as UTF-8. Not the
    policies' ``policies.bundle.canonical_json``, which keeps Python's spelling of numbers
    (10.0): each is fixed by the digests already recorded with it. Written by the standard
    library's encoder where that gives the same bytes (``projections.canonical_json``)."""
    return canonical_json.jcs(document)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def snapshot_of(
    cycle_id: UUID,
    position: int,
    document: Document,
    through: EventRef | None = None,
    at: datetime | None = None,
) -> Snapshot:
    canonical = jcs(document)
    return Snapshot(cycle_id, position, document, canonical, sha256_hex(canonical), through, at)


# ---- the fold -------------------------------------------------------------------------


class ChangesAfterLock(Projection):
    """Changes applied through an approved change request, with the values before and
    after: the OKR-state view keeps only the values after.

    A key result's revision or retirement is an item of the shape snapshots have always
    had (``key_result_id``), so snapshots sealed before objectives could change after lock
    keep their digest. A change to an objective, or an addition, is an item naming its
    ``target_kind`` and ``target_id`` instead."""

    name = "snapshot_changes_after_lock"

    def apply(self, event: Any, docs: DocumentBatch) -> None:
        if getattr(event, "change_request_id", None) is None:
            return  # not a change through a request (before lock, made directly)
        item: Document
        if isinstance(event, KeyResult.Revised):
            item = _item(event, "revise", dict(event.previous), dict(event.changes))
        elif isinstance(event, KeyResult.Retired):
            item = _item(event, "retire", {"status": "active"}, {"status": "retired"})
        elif isinstance(event, Objective.Amended):
            item = _item(event, "revise", dict(event.previous), dict(event.changes), "objective")
        elif isinstance(event, Objective.Retired):
            retired = {"status": "retired"}
            item = _item(event, "retire", {"status": "active"}, retired, "objective")
        elif isinstance(event, KeyResult.Added):
            item = _item(event, "add_key_result", None, dict(event.definition), "key_result")
        elif isinstance(event, Objective.Created):
            added = {"title": event.title, "owner": event.owner, "level": event.level,
                     "commitment": event.commitment}  # fmt: skip
            item = _item(event, "add_objective", None, added, "objective")
        else:
            return
        item["change_request_id"] = str(event.change_request_id)
        item["applied_at"] = event.timestamp.isoformat()
        doc = docs.get(CHANGES, "all") or {"items": []}
        doc["items"].append(item)
        docs.put(CHANGES, "all", doc)


def _item(
    event: Any,
    kind: str,
    before: Document | None,
    after: Document,
    target_kind: str | None = None,
) -> Document:
    """One change: a key result's revision or retirement keeps the item shape sealed
    snapshots have (``key_result_id``); anything else names its target."""
    target = (
        {"key_result_id": str(event.originator_id)}
        if target_kind is None
        else {"target_kind": target_kind, "target_id": str(event.originator_id)}
    )
    return {**target, "kind": kind, "before": before, "after": after}


def _topics(*aggregates: type) -> frozenset[str]:
    """The topics of every event class an aggregate declares."""
    return frozenset(
        get_topic(value)
        for aggregate in aggregates
        for value in vars(aggregate).values()
        if isinstance(value, type) and issubclass(value, Aggregate.Event)
    )


#: What a cycle's snapshot can be made of: decisions and the policy registry are not.
RELEVANT_TOPICS = _topics(Cycle, Objective, KeyResult, ChangeRequest, PolicyVersion)
_POLICY_TOPICS = _topics(PolicyVersion)
#: Creations that join a cycle, and the attributes that say which (any one a member: the
#: cycle, or for a change request its target, key result, objective or cycle).
_JOINS = {
    get_topic(Objective.Created): ("cycle_id",),
    get_topic(KeyResult.Added): ("cycle_id",),
    get_topic(ChangeRequest.Requested): ("key_result_id", "target_id", "objective_id", "cycle_id"),
}


def _nothing_stored(_kind: str, _ident: str) -> None:
    """The in-memory batch starts empty: every document comes from the events folded."""
    return None


class UnknownFormat(ValueError):
    """A snapshot format this version of okrgov cannot derive."""


class CycleFold:
    """Folds one cycle's events, in store order, through the read models' ``apply`` into
    an in-memory batch of documents, and cuts the snapshot document of ``snapshot_format``
    from them."""

    def __init__(self, cycle_id: UUID, snapshot_format: str = SNAPSHOT_FORMAT) -> None:
        if snapshot_format not in SNAPSHOT_FORMATS:
            raise UnknownFormat(f"{snapshot_format} is not one of {sorted(SNAPSHOT_FORMATS)}")
        self.format = snapshot_format
        self.cycle_id = str(cycle_id)
        self.events = 0
        self._members = {self.cycle_id}
        self._names: dict[UUID | str, str] = {}
        self._docs = DocumentBatch(_nothing_stored)
        self._projections: tuple[Projection, ...] = (OkrState(), Governance(), ChangesAfterLock())

    def _name(self, ident: UUID | str) -> str:
        """``str(ident)``, once per aggregate (a UUID's ``str`` is slow in Python)."""
        name = self._names.get(ident)
        if name is None:
            name = self._names[ident] = str(ident)
        return name

    def wants(self, topic: str, originator_id: UUID | str) -> bool:
        """Whether a stored event may matter, judged before it is decoded."""
        return (
            self._name(originator_id) in self._members or topic in _JOINS or topic in _POLICY_TOPICS
        )

    def apply(self, event: Any, position: int = 0) -> None:
        topic = get_topic(type(event))
        originator = self._name(event.originator_id)
        if originator not in self._members:
            if topic in _JOINS and self._joins(event, _JOINS[topic]):
                self._members.add(originator)
            elif topic not in _POLICY_TOPICS:
                return
        if originator in self._members:
            self.events += 1
        self._docs.position = position
        for projection in self._projections:
            projection.apply(event, self._docs)

    def _joins(self, event: Any, attributes: tuple[str, ...]) -> bool:
        return any(
            (value := getattr(event, name, None)) is not None and str(value) in self._members
            for name in attributes
        )

    def document(self) -> Document:
        """The snapshot document; ``CycleNotFound`` if the cycle was not opened yet."""
        docs = self._docs
        cycle = docs.get(CYCLE, self.cycle_id)
        if cycle is None:
            raise CycleNotFound(f"cycle {self.cycle_id} had not been opened at that position")
        objectives = [self._objective(docs.require(OBJECTIVE, i)) for i in cycle["objective_ids"]]
        key_results = [kr for o in objectives for kr in o["key_results"]]
        requests = [doc for kind, _, _, _, doc in docs.touched() if kind == CHANGE_REQUEST]
        changes = self._changes_after_lock()
        return {
            "format": self.format,
            "cycle": _pick(cycle, _CYCLE_FIELDS),
            "objectives": objectives,
            "alignment": alignment_tree(objectives, lambda o: {"id": o["id"]}),
            "changes_after_lock": changes,
            "policy": self._active_policy(),
            "counts": {
                "objectives": sum(o["status"] == "active" for o in objectives),
                "objectives_retired": sum(o["status"] == "retired" for o in objectives),
                "key_results": sum(k["status"] == "active" for k in key_results),
                "key_results_retired": sum(k["status"] == "retired" for k in key_results),
                "check_ins": sum(k["check_in_count"] for k in key_results),
                "change_requests": len(requests),
                "changes_after_lock": len(changes),
                "events": self.events,
            },
        }

    def _objective(self, doc: Document) -> Document:
        return {
            **_pick(doc, _OBJECTIVE_FIELDS),
            "score": _pick_or_none(doc["score"], _OBJECTIVE_SCORE_FIELDS),
            "key_results": [
                self._key_result(self._docs.require(KEY_RESULT, i)) for i in doc["key_result_ids"]
            ],
        }

    def _key_result(self, doc: Document) -> Document:
        return {
            **_pick(doc, _KEY_RESULT_FIELDS),
            "last_check_in": _pick_or_none(doc["latest_check_in"], CHECK_IN_FIELDS[self.format]),
            "score": _pick_or_none(doc["score"], _KEY_RESULT_SCORE_FIELDS),
        }

    def _changes_after_lock(self) -> list[Document]:
        found = self._docs.get(CHANGES, "all")
        changes = []
        for change in found["items"] if found else ():
            request = self._docs.require(CHANGE_REQUEST, change["change_request_id"])
            if "key_result_id" in change:
                key_result = self._docs.require(KEY_RESULT, change["key_result_id"])
                about = {
                    "objective_id": key_result["objective_id"],
                    "key_result_title": key_result["title"],
                }
            else:
                target = self._docs.require(change["target_kind"], change["target_id"])
                about = {
                    "objective_id": target.get("objective_id", target["id"]),
                    "title": target["title"],
                }
            changes.append(
                {
                    **change,
                    **about,
                    "reason": request["reason"],
                    "requested_by": request["requested_by"],
                    "requested_at": request["requested_at"],
                    "approved_by": request["decided_by"],
                    "approved_at": request["decided_at"],
                }
            )
        return changes

    def _active_policy(self) -> Document | None:
        # Inside the one save that activates a version and retires the one before, both can
        # read as active for an event or two: the higher number is the one taking over.
        active = [
            doc
            for kind, _, _, _, doc in self._docs.touched()
            if kind == POLICY and doc["status"] == "active"
        ]
        if not active:
            return None
        policy = max(active, key=lambda doc: int(doc["number"]))
        return _pick(policy, ("id", "number", "digest", "approved_by", "approved_at"))


def _pick(doc: Document, fields: Iterable[str]) -> Document:
    return {field: doc.get(field) for field in fields}


def _pick_or_none(doc: Document | None, fields: Iterable[str]) -> Document | None:
    return None if doc is None else _pick(doc, fields)


def fold(cycle_id: UUID, events: Iterable[Any], snapshot_format: str = SNAPSHOT_FORMAT) -> Document:
    """The snapshot document of a cycle from domain events in store order (pure)."""
    folding = CycleFold(cycle_id, snapshot_format)
    for position, event in enumerate(events, start=1):
        if folding.wants(get_topic(type(event)), event.originator_id):
            folding.apply(event, position)
    return folding.document()


# ---- reading the store ----------------------------------------------------------------


def _pages(
    recorder: ApplicationRecorder, stop: int, page_size: int, topics: Iterable[str] = ()
) -> Iterator[Notification]:
    """Notifications 1..stop in store order, one page in memory at a time."""
    listed = sorted(topics)

    def read(after: int, limit: int) -> Sequence[Notification]:
        return recorder.select_notifications(
            after, limit, stop=stop, topics=listed, inclusive_of_start=False
        )

    return keyset_pages(read, lambda notification: notification.id, page_size=page_size)


def snapshot_at(
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    cycle_id: UUID,
    position: int,
    page_size: int = PAGE_SIZE,
    snapshot_format: str = SNAPSHOT_FORMAT,
) -> Snapshot:
    """The cycle as of ``position``, from notifications 1..position only: the cycle's
    own, found by the store's snapshot index (``projections.snapshot_index``); in a store
    that has none, by reading every notification of the relevant topics."""
    index = snapshot_index(recorder, mapper)
    if index is None:
        return scan_snapshot_at(recorder, mapper, cycle_id, position, page_size, snapshot_format)
    folding = CycleFold(cycle_id, snapshot_format)
    for notification in index.notifications(index.members(cycle_id), position, RELEVANT_TOPICS):
        _fold_one(folding, mapper, notification)
    document = folding.document()
    # The event at the position itself (often a decision, which the fold does not read);
    # if the position is a gap in the log, the last event of the fold's topics before it.
    at_position = recorder.select_notifications(position, 1, stop=position)
    through = at_position[0] if at_position else index.last_of(position, RELEVANT_TOPICS)
    return _snapshot_through_notification(cycle_id, position, document, mapper, through)


def scan_snapshot_at(
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    cycle_id: UUID,
    position: int,
    page_size: int = PAGE_SIZE,
    snapshot_format: str = SNAPSHOT_FORMAT,
) -> Snapshot:
    """``snapshot_at`` by reading every notification of the relevant topics up to the
    position (no index): the definition the indexed reading must match."""
    folding = CycleFold(cycle_id, snapshot_format)
    last_read = None
    for notification in _pages(recorder, position, page_size, RELEVANT_TOPICS):
        _fold_one(folding, mapper, notification)
        last_read = notification
    document = folding.document()
    at_position = recorder.select_notifications(position, 1, stop=position)
    through = at_position[0] if at_position else last_read
    return _snapshot_through_notification(cycle_id, position, document, mapper, through)


def _snapshot_through_notification(
    cycle_id: UUID,
    position: int,
    document: Document,
    mapper: Mapper[Any],
    through: Notification | None,
) -> Snapshot:
    """The snapshot, with the event it was taken through and that event's time."""
    if through is None:
        return snapshot_of(cycle_id, position, document)
    event: Any = mapper.to_domain_event(through)
    at: datetime = event.timestamp
    return snapshot_of(cycle_id, position, document, _ref(through), at)


def snapshot_through(
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    cycle_id: UUID,
    through: EventRef,
    page_size: int = PAGE_SIZE,
    snapshot_format: str = SNAPSHOT_FORMAT,
) -> Snapshot:
    """The cycle as of the position of event ``through`` in this store: how a seal is
    re-derived, also in a copy of the store that numbers the same events differently.
    ``EventNotFound`` when this store does not hold that event."""
    index = snapshot_index(recorder, mapper)
    if index is None:
        return scan_snapshot_through(
            recorder, mapper, cycle_id, through, page_size, snapshot_format
        )
    position = index.events.position_of(through.originator_id.hex, through.originator_version)
    if position is None:
        raise EventNotFound(f"event {through.originator_id} v{through.originator_version}")
    found = snapshot_at(recorder, mapper, cycle_id, position, page_size, snapshot_format)
    return snapshot_of(cycle_id, position, found.document, through, found.at)


def scan_snapshot_through(
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    cycle_id: UUID,
    through: EventRef,
    page_size: int = PAGE_SIZE,
    snapshot_format: str = SNAPSHOT_FORMAT,
) -> Snapshot:
    """``snapshot_through`` by reading every notification (``through`` may be of any
    topic) until that event, decoding only those of the cycle."""
    folding = CycleFold(cycle_id, snapshot_format)
    last = recorder.max_notification_id() or 0
    for notification in _pages(recorder, last, page_size):
        _fold_one(folding, mapper, notification)
        if _ref(notification) == through:
            return _snapshot_through_notification(
                cycle_id, notification.id, folding.document(), mapper, notification
            )
    raise EventNotFound(f"event {through.originator_id} v{through.originator_version}")


_INDEXES: "WeakKeyDictionary[ApplicationRecorder, SnapshotIndex]" = WeakKeyDictionary()


def snapshot_index(recorder: ApplicationRecorder, mapper: Mapper[Any]) -> SnapshotIndex | None:
    """The store's snapshot index, caught up to the end of the store; None for a store
    without a database table to index (the in-memory one)."""
    index = _INDEXES.get(recorder)
    if index is None:
        try:
            index = SnapshotIndex(recorder, _JOINS, _POLICY_TOPICS)
        except TypeError:
            return None
        _INDEXES[recorder] = index
    index.catch_up(mapper)
    return index


def _fold_one(folding: CycleFold, mapper: Mapper[Any], notification: Notification) -> None:
    if folding.wants(notification.topic, notification.originator_id):
        folding.apply(mapper.to_domain_event(notification), notification.id)


def _ref(notification: Notification) -> EventRef:
    originator = notification.originator_id
    return EventRef(
        originator if isinstance(originator, UUID) else UUID(str(originator)),
        notification.originator_version,
    )


def position_at(
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    moment: datetime,
    page_size: int = PAGE_SIZE,
) -> int:
    """The last position whose event was recorded at or before ``moment`` (0: none).

    Every event's timestamp is read, not only up to the first one after ``moment``: events
    of concurrent commands can reach the log slightly out of timestamp order, and the last
    position at or before the moment may lie beyond such an event."""
    found = 0
    last = recorder.max_notification_id() or 0
    for notification in _pages(recorder, last, page_size):
        event: Any = mapper.to_domain_event(notification)
        if event.timestamp <= moment:
            found = notification.id
    return found
