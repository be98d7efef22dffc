"""Which aggregates can belong to a cycle, so that a snapshot reads only the cycle's events.

A snapshot (``projections.snapshot``) folds the events of the cycle's aggregates and of
the policy versions, in store order. Which aggregates those are is said by the events
that create them: an objective or key result names its cycle, a change request names its
key result, objective or cycle. This index records those links as edges ``parent ->
child`` (and ``policy -> version`` for every policy version), read from the stored rows of
the creating topics only, so a snapshot finds the cycle's aggregates in two indexed reads
and then reads their events by aggregate id (the event table's primary key): its cost
follows the cycle's events, not the store's.

The edges are a superset of what the fold accepts (a link names a member; the fold still
applies its own rules, in store order), so the document and its digest are those of the
fold over every event (tests/integration/test_snapshot_index.py compares both). The index
is caught up on demand to the end of the store, reading only rows after the position it
last reached, each catch-up in one transaction; edges are a set and the position only
grows, so two processes catching up at once write the same thing."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar
from uuid import UUID

import structlog
from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from eventsourcing.postgres import PostgresApplicationRecorder

from infra.keyset import keyset_pages
from infra.stored_events import StoredEvents

log = structlog.get_logger(__name__)

T = TypeVar("T")

POLICY_PARENT = "policy"
_CHUNK = 500


class SnapshotIndex:
    """The cycle-membership edges of one store, in the store's own database."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        joins: Mapping[str, tuple[str, ...]],
        policy_topics: Iterable[str],
    ) -> None:
        self.recorder = recorder
        self.events = StoredEvents(recorder)  # TypeError: a store this cannot index
        self.joins = dict(joins)
        self.policy_topics = frozenset(policy_topics)
        self.postgres = isinstance(recorder, PostgresApplicationRecorder)
        self.mark = "%s" if self.postgres else "?"
        prefix = f'"{self.events.datastore.schema}".' if self.postgres else ""
        self.edges = f"{prefix}snapshot_index_edges"
        self.tracking = f"{prefix}snapshot_index_position"
        self._created = False

    def _key(self, ident: str) -> Any:
        """An aggregate id (32 hex digits) as the event table stores it."""
        return UUID(hex=ident) if self.postgres else ident

    def _sql(self, text: str) -> str:
        return (
            text.replace("{edges}", self.edges)
            .replace("{tracking}", self.tracking)
            .replace("{table}", self.events.table)
            .replace("{pos}", "notification_id" if self.postgres else "rowid")
            .replace("?", self.mark)
        )

    def _create(self) -> None:
        if self._created:
            return
        with self.events.datastore.transaction(commit=True) as c:
            if self.postgres:
                c.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s))",
                    (f"okrgov.views:{self.events.datastore.schema}",),
                )
            c.execute(
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {edges} (parent TEXT NOT NULL, "
                    "child TEXT NOT NULL, PRIMARY KEY (parent, child))"
                )
            )
            c.execute(
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {tracking} (name TEXT PRIMARY KEY, "
                    "position BIGINT NOT NULL)"
                )
            )
        self._created = True

    def position(self) -> int:
        self._create()
        with self.events.datastore.transaction(commit=False) as c:
            c.execute(self._sql("SELECT position FROM {tracking} WHERE name = 'edges'"))
            row = c.fetchone()
        return int(row["position"]) if row else 0

    def catch_up(self, mapper: Mapper[Any], page_size: int = 1000) -> int:
        """Index the creating rows recorded since the last catch-up; returns how many."""
        after = self.position()
        last = self.recorder.max_notification_id() or 0
        if last <= after:
            return 0
        topics = sorted({*self.joins, *self.policy_topics})

        def read(start: int, limit: int) -> Sequence[Notification]:
            return self.recorder.select_notifications(
                start, limit, stop=last, topics=topics, inclusive_of_start=False
            )

        edges: list[tuple[str, str]] = []
        read_rows = 0
        for notification in keyset_pages(read, _id, after=after, page_size=page_size):
            read_rows += 1
            child = _hex(notification.originator_id)
            if notification.topic in self.policy_topics:
                edges.append((POLICY_PARENT, child))
                continue
            event = mapper.to_domain_event(notification)
            for name in self.joins[notification.topic]:
                parent = getattr(event, name, None)
                if parent is not None:
                    edges.append((_hex(parent), child))
        with self.events.datastore.transaction(commit=True) as c:
            if edges:
                c.executemany(
                    self._sql(
                        "INSERT INTO {edges} (parent, child) VALUES (?, ?) ON CONFLICT DO NOTHING"
                    ),
                    edges,
                )
            greatest = "GREATEST" if self.postgres else "MAX"
            c.execute(
                self._sql(
                    "INSERT INTO {tracking} (name, position) VALUES ('edges', ?) ON CONFLICT "
                    f"(name) DO UPDATE SET position = {greatest}({{tracking}}.position, "
                    "excluded.position)"
                ),
                (last,),
            )
        log.debug("snapshot.index_caught_up", rows=read_rows, edges=len(edges), position=last)
        return read_rows

    def members(self, cycle_id: UUID) -> list[str]:
        """Every aggregate (32 hex digits) a link joins to the cycle, and every policy
        version: a superset of what the fold accepts."""
        found = {cycle_id.hex}
        parents = [cycle_id.hex]
        with self.events.datastore.transaction(commit=False) as c:
            for roots in ([POLICY_PARENT], parents):
                level = list(roots)
                while level:
                    children: list[str] = []
                    for chunk in _chunks(level):
                        c.execute(
                            self._sql(
                                "SELECT child FROM {edges} WHERE parent IN "
                                f"({', '.join('?' * len(chunk))})"
                            ),
                            chunk,
                        )
                        children += [r["child"] for r in c.fetchall()]
                    level = [child for child in children if child not in found]
                    found.update(level)
        return sorted(found)

    def notifications(
        self, originator_ids: Sequence[str], stop: int, topics: frozenset[str]
    ) -> list[Notification]:
        """The events of these aggregates up to position ``stop``, of ``topics``, in store
        order. On SQLite their positions come first, from the primary key's index alone,
        and the rows are then read in position order (the cycle's rows lie together in the
        table, so each page of it is read once); PostgreSQL reads them by aggregate id."""
        columns = "{pos} AS id, originator_id, originator_version, topic, state"
        found: list[Notification] = []
        uuids: dict[Any, UUID] = {}
        with self.events.datastore.transaction(commit=False) as c:
            if self.postgres:
                keys = [self._key(ident) for ident in originator_ids]
                where = "originator_id IN ({marks}) AND {pos} <= ?"
            else:
                positions: list[int] = []
                for chunk in _chunks(list(originator_ids)):
                    c.execute(
                        self._sql(
                            "SELECT {pos} AS id FROM {table} WHERE originator_id IN "
                            f"({', '.join('?' * len(chunk))})"
                        ),
                        chunk,
                    )
                    positions += [r["id"] for r in c.fetchall() if r["id"] <= stop]
                keys = sorted(positions)
                where = "{pos} IN ({marks})"
            for chunk in _chunks(keys):
                marks = ", ".join("?" * len(chunk))
                c.execute(
                    self._sql(
                        f"SELECT {columns} FROM {{table}} WHERE {where}".replace("{marks}", marks)
                    ),
                    [*chunk, stop] if self.postgres else chunk,
                )
                for r in c.fetchall():
                    if r["topic"] not in topics:
                        continue
                    originator = r["originator_id"]
                    if originator not in uuids:
                        uuids[originator] = _uuid(originator)
                    found.append(
                        Notification(
                            id=r["id"],
                            originator_id=uuids[originator],
                            originator_version=r["originator_version"],
                            topic=r["topic"],
                            state=r["state"],
                        )
                    )
        found.sort(key=_id)
        return found

    def last_of(self, stop: int, topics: frozenset[str]) -> Notification | None:
        """The last notification of ``topics`` at or before ``stop``."""
        listed = sorted(topics)
        with self.events.datastore.transaction(commit=False) as c:
            c.execute(
                self._sql(
                    "SELECT {pos} AS id, originator_id, originator_version, topic, state "
                    f"FROM {{table}} WHERE {{pos}} <= ? AND topic IN "
                    f"({', '.join('?' * len(listed))}) ORDER BY {{pos}} DESC LIMIT 1"
                ),
                [stop, *listed],
            )
            r = c.fetchone()
        if r is None:
            return None
        return Notification(
            id=r["id"],
            originator_id=_uuid(r["originator_id"]),
            originator_version=r["originator_version"],
            topic=r["topic"],
            state=bytes(r["state"]),
        )


def _id(notification: Notification) -> int:
    return notification.id


def _hex(value: Any) -> str:
    return value.hex if isinstance(value, UUID) else UUID(str(value)).hex


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _chunks(items: list[T]) -> Iterable[list[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
