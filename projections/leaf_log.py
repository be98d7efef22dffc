"""The leaf log: for every event position the store has shown, the Merkle leaf hash of
its stored bytes (and which event it held), plus the frontier of the tree over them; kept
by a follower of the raw event table, each batch with its tracking record in one
transaction, like every view.

It differs from the read models in two ways. It follows the stored rows, not the decoded
events, since it witnesses bytes. And it is evidence, not a read model: a rebuild keeps it,
because recomputing it from the rows as they are now would launder any change made to them
since they were first seen. A checkpoint signs the frontier's root (see
``services/application/evidence/verification.py``); the follower asks for one every
``every`` leaves.

Over 300 lines: the leaf log's one transaction (leaves, stored tree, frontier, tracking)
and its two backends' tables are one unit; the tree's reads live in ``leaf_tree``."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID

import structlog
from eventsourcing.persistence import Mapper, Tracking
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL

from infra.keyset import keyset_pages
from infra.merkle import Frontier, leaf_hash
from infra.stored_events import StoredEvents, StoredRow
from projections.documents import (
    Cursor,
    DocumentBatch,
    DocumentView,
    PostgresDocumentView,
    SQLiteDocumentView,
    encode,
)
from projections.follower import Follower, Projection
from projections.leaf_tree import LeafTree, TreeReader

log = structlog.get_logger(__name__)

LEAF_LOG = "integrity"
"""The leaf log's projection name: it names its tables and tracking record in stores
already written, so it keeps the name it was first given."""
_TREE = ("merkle", "frontier")


class LeafRecord(NamedTuple):
    """What the leaf log recorded for one position."""

    position: int
    leaf: bytes
    originator_id: str | None
    originator_version: int | None


@dataclass(frozen=True)
class TreeHead:
    """The tree over every leaf logged so far."""

    size: int
    last_position: int
    root: bytes


class LeafLog(Projection):
    """Turns stored rows (not decoded events) into leaves: a pure function of the bytes."""

    name = LEAF_LOG

    def apply(self, event: Any, docs: DocumentBatch) -> None:
        if not isinstance(event, StoredRow) or not isinstance(docs, LeafBatch):
            raise TypeError("the leaf log takes stored rows, in a leaf batch")
        leaf = leaf_hash(event.leaf())
        docs.nodes += docs.frontier.append_nodes(leaf)
        docs.last_position = event.position
        docs.leaves.append(
            LeafRecord(event.position, leaf, event.originator_id, event.originator_version)
        )


class LeafBatch(DocumentBatch):
    """One batch of leaves and the frontier they extend."""

    def __init__(self, load: Any, frontier: Frontier, last_position: int) -> None:
        super().__init__(load)
        self.frontier = frontier
        self.last_position = last_position
        self.leaves: list[LeafRecord] = []
        self.nodes: list[tuple[int, int, bytes]] = []


class LeafLogView(DocumentView):
    """The leaf table beside the view's documents (which hold the frontier), and the
    stored tree over the leaves (``projections.leaf_tree``)."""

    leaves_table: str
    nodes_table: str
    runs_table: str
    events_position: str
    """The event table's column holding the notification id."""

    def _l(self, sql: str) -> str:
        return self._q(
            sql.replace("{leaves}", self.leaves_table)
            .replace("{nodes}", self.nodes_table)
            .replace("{runs}", self.runs_table)
        )

    def sql(self, text: str) -> str:
        return self._l(text)

    @property
    def tree(self) -> LeafTree:
        return LeafTree(self, LEAF_LOG)

    def frontier_in(self, c: Cursor) -> tuple[Frontier, int]:
        return self._frontier(c)

    def document_in(self, c: Cursor, kind: str, ident: str) -> Any:
        found = self._select_one(c, kind, ident)
        return found[2] if found else None

    def read_tree(self, work: Callable[[TreeReader], Any]) -> Any:
        """Run ``work`` over the stored tree (complete it first: ``tree.complete_tree``)."""
        return self.tree.read_tree(work)

    def record(
        self,
        tracking: Tracking,
        rows: list[StoredRow],
        apply: Callable[[Any, DocumentBatch], None],
        after: int,
    ) -> bool:
        """Log the leaves of ``rows`` (read after position ``after``), the extended
        frontier and the tracking record, in one transaction; False, recording nothing,
        when another follower of the leaf log has moved it on since ``after``."""
        with self.transaction(commit=True) as c:
            self.lock_tracking(c, tracking.application_name)
            if self.tracked_in(c, tracking.application_name) != after:
                return False
            frontier, last_position = self._frontier(c)
            first_index = frontier.size
            batch = LeafBatch(lambda k, i: self._select_one(c, k, i), frontier, last_position)
            for row in rows:
                apply(row, batch)
            c.executemany(
                self._l(
                    "INSERT INTO {leaves} (position, leaf, originator_id, originator_version) "
                    "VALUES (?, ?, ?, ?)"
                ),
                batch.leaves,
            )
            self.tree.write_tree(
                c, first_index, [leaf.position for leaf in batch.leaves], batch.nodes
            )
            doc = {
                "size": frontier.size,
                "last_position": batch.last_position,
                "peaks": [peak.hex() for peak in frontier.peaks],
            }
            c.execute(
                self.upsert_statement(),
                (*_TREE, tracking.notification_id, None, encode(doc)),
            )
            self._insert_tracking(c, tracking)
        return True

    def _frontier(self, c: Cursor) -> tuple[Frontier, int]:
        found = self._select_one(c, *_TREE)
        if found is None:
            return Frontier(), 0
        doc = found[2]
        return Frontier(doc["size"], [bytes.fromhex(p) for p in doc["peaks"]]), doc["last_position"]

    def head(self) -> TreeHead:
        with self.transaction(commit=False) as c:
            frontier, last_position = self._frontier(c)
        return TreeHead(frontier.size, last_position, frontier.root())

    def leaves(self, after: int = 0, page_size: int = 5000) -> Iterator[LeafRecord]:
        """Every logged leaf after position ``after``, in position order, page by page."""
        return keyset_pages(self._leaf_page, _position, after=after, page_size=page_size)

    def leaves_between(self, after: int, last: int) -> list[LeafRecord]:
        """The logged leaves at positions ``after < position <= last``, in order."""
        with self.transaction(commit=False) as c:
            c.execute(
                self._l(
                    "SELECT position, leaf, originator_id, originator_version FROM {leaves} "
                    "WHERE position > ? AND position <= ? ORDER BY position"
                ),
                (after, last),
            )
            return [_record(r) for r in c.fetchall()]

    def rows_and_leaves(
        self, events: StoredEvents, after: int, limit: int
    ) -> tuple[list[StoredRow], list[int], list[bytes]]:
        """Up to ``limit`` stored rows after position ``after`` (as ``events.page`` reads
        them) and the positions and leaf hashes logged up to the last of them, read in one
        transaction: what ``verify`` compares, a page at a time (two transactions per page
        cost as much again as the reads, on SQLite)."""
        pos = self.events_position
        with self.transaction(commit=False) as c:
            c.execute(
                self._l(
                    f"SELECT {pos} AS position, originator_id, originator_version, topic, "
                    f"state FROM {events.table} WHERE {pos} > ? ORDER BY {pos} LIMIT ?"
                ),
                (after, limit),
            )
            rows = [
                StoredRow(
                    r["position"],
                    _hex(r["originator_id"]),
                    r["originator_version"],
                    r["topic"],
                    bytes(r["state"]) if r["state"] is not None else None,
                )
                for r in c.fetchall()
            ]
            if not rows:
                return rows, [], []
            c.execute(
                self._l(
                    "SELECT position, leaf FROM {leaves} "
                    "WHERE position > ? AND position <= ? ORDER BY position"
                ),
                (after, rows[-1].position),
            )
            logged = c.fetchall()
        return rows, [r["position"] for r in logged], [_bytes(r["leaf"]) for r in logged]

    def _leaf_page(self, after: int, limit: int) -> list[LeafRecord]:
        with self.transaction(commit=False) as c:
            c.execute(
                self._l(
                    "SELECT position, leaf, originator_id, originator_version FROM {leaves} "
                    "WHERE position > ? ORDER BY position LIMIT ?"
                ),
                (after, limit),
            )
            return [_record(r) for r in c.fetchall()]

    def leaf_at(self, position: int) -> LeafRecord | None:
        return self._one("position = ?", (position,))

    def leaf_of(self, originator_id: str, originator_version: int) -> LeafRecord | None:
        """The leaf logged for an event key (a scan: only asked when something is wrong)."""
        return self._one(
            "originator_id = ? AND originator_version = ?", (originator_id, originator_version)
        )

    def index_of(self, position: int) -> int | None:
        """The leaf index of a logged position (how many logged positions come before it),
        from the stored tree; None when the position was not logged."""
        self.tree.complete_tree()
        found: int | None = self.read_tree(lambda tree: tree.index_of(position))
        return found

    def _one(self, where: str, params: tuple[Any, ...]) -> LeafRecord | None:
        with self.transaction(commit=False) as c:
            c.execute(
                self._l(
                    "SELECT position, leaf, originator_id, originator_version FROM {leaves} "
                    f"WHERE {where} ORDER BY position LIMIT 1"
                ),
                params,
            )
            row = c.fetchone()
        return _record(row) if row else None

    def reset(self) -> None:
        """Kept on a rebuild: the leaf log is evidence of what the rows were when first
        seen, and re-deriving it from the rows as they are now would hide any change."""


def _bytes(value: Any) -> bytes:
    """A BLOB/BYTEA as bytes, copied only when the driver gave something else."""
    return value if type(value) is bytes else bytes(value)


def _hex(originator_id: Any) -> str | None:
    """An aggregate id as ``StoredRow`` holds it (PostgreSQL's uuid as 32 hex digits)."""
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


def _position(leaf: LeafRecord) -> int:
    return leaf.position


def _record(row: Any) -> LeafRecord:
    return LeafRecord(
        int(row["position"]),
        bytes(row["leaf"]),
        row["originator_id"],
        row["originator_version"],
    )


class SQLiteLeafLogView(LeafLogView, SQLiteDocumentView):
    events_position = "rowid"

    def __init__(self, datastore: SQLiteDatastore, projection: str = LEAF_LOG) -> None:
        self.leaves_table = f"{projection}_leaves"
        self.nodes_table = f"{projection}_nodes"
        self.runs_table = f"{projection}_runs"
        super().__init__(datastore, projection)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.leaves_table} (position INTEGER PRIMARY KEY, "
            "leaf BLOB NOT NULL, originator_id TEXT, originator_version INTEGER)",
            f"CREATE TABLE IF NOT EXISTS {self.nodes_table} (level INTEGER NOT NULL, "
            "idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx))",
            f"CREATE TABLE IF NOT EXISTS {self.runs_table} (first_index INTEGER PRIMARY KEY, "
            "first_position INTEGER NOT NULL UNIQUE, length INTEGER NOT NULL)",
        ]


class PostgresLeafLogView(LeafLogView, PostgresDocumentView):
    events_position = "notification_id"

    def __init__(self, datastore: PostgresDatastore, projection: str = LEAF_LOG) -> None:
        super().__init__(datastore, projection)
        schema = self.datastore.schema
        self.leaves_table = f'"{schema}"."{projection}_leaves"'
        self.nodes_table = f'"{schema}"."{projection}_nodes"'
        self.runs_table = f'"{schema}"."{projection}_runs"'
        self.sql_create_statements.extend(
            SQL(statement).format()
            for statement in (
                f"CREATE TABLE IF NOT EXISTS {self.leaves_table} (position BIGINT PRIMARY KEY, "
                "leaf BYTEA NOT NULL, originator_id TEXT, originator_version BIGINT)",
                f"CREATE TABLE IF NOT EXISTS {self.nodes_table} (level INTEGER NOT NULL, "
                "idx BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (level, idx))",
                f"CREATE TABLE IF NOT EXISTS {self.runs_table} (first_index BIGINT PRIMARY KEY, "
                "first_position BIGINT NOT NULL UNIQUE, length BIGINT NOT NULL)",
            )
        )


class LeafFollower(Follower):
    """Follows the raw event table into the leaf log; running in the background, every
    ``every`` leaves it calls ``checkpoint_due(slot)`` (slot = leaves // every) so that a
    checkpoint is signed."""

    view: LeafLogView

    def __init__(
        self,
        events: StoredEvents,
        mapper: Mapper[Any],
        view: LeafLogView,
        *,
        every: int = 0,
        checkpoint_due: Callable[[int], None] | None = None,
        batch_size: int = 500,
    ) -> None:
        super().__init__(events.recorder, mapper, LeafLog(), view, batch_size)
        self.events = events
        self.every = every
        self.checkpoint_due = checkpoint_due
        self._slot: int | None = None
        self.signing = False

    def catch_up(self) -> int:
        applied = 0
        if self._slot is None and self.every:
            # A process starting up does not re-sign a boundary it finds behind it.
            self._slot = self.view.head().size // self.every
        while True:
            position = self.view.position()
            rows = self.events.page(position, self.batch_size)
            if not rows:
                return applied
            tracking = Tracking(self.projection.name, rows[-1].position)
            if not self.view.record(tracking, rows, self.projection.apply, position):
                log.debug("projection.batch_taken", projection=self.projection.name)
                continue
            applied += len(rows)
            self._maybe_checkpoint()

    def start(self, poll_seconds: float) -> None:
        """Follow in the background, and from now on ask for the periodic checkpoints: a
        one-off catch-up (a verification, a worker run until caught up) records nothing."""
        self.signing = True
        super().start(poll_seconds)

    def _maybe_checkpoint(self) -> None:
        if not self.signing or not self.every or self.checkpoint_due is None:
            return
        slot = self.view.head().size // self.every
        if self._slot is not None and slot > self._slot:
            self._slot = slot
            try:
                self.checkpoint_due(slot)
            except Exception:
                log.exception("integrity.checkpoint_failed", slot=slot)
