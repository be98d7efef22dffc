"""A generic document view: JSON documents keyed by kind and id, written together with the
projection's tracking record in one transaction, on SQLite or PostgreSQL.

Every projection stores its read model here, so exactly-once processing, restart, rebuild
and read-your-writes are built once for all of them.

Over 300 lines on purpose: the document view and its two backends share one transaction
and tracking protocol; apart, the exactly-once rule would be written twice."""

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, cast

from eventsourcing.persistence import OperationalError, Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL

Document = dict[str, Any]

SQLITE_SETUP_SECONDS = 10.0
"""How long a view keeps trying to create its SQLite tables while other processes write."""


class Cursor(Protocol):
    def execute(self, query: Any, params: Any = ...) -> Any: ...
    def executemany(self, query: Any, params_seq: Any) -> Any: ...
    def fetchall(self) -> Any: ...
    def fetchone(self) -> Any: ...


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def encode(doc: Document) -> str:
    """A document as compact JSON, keys sorted (what ``json.dumps`` with those options
    writes; the encoder is made once, not per document)."""
    return _ENCODER.encode(doc)


class DocumentBatch:
    """The documents one batch of events reads and writes; flushed at the end of the batch,
    in the same transaction as the tracking record."""

    def __init__(self, load: Callable[[str, str], tuple[int, str | None, Document] | None]):
        self._load = load
        self._docs: dict[tuple[str, str], tuple[int, str | None, Document] | None] = {}
        self._dirty: set[tuple[str, str]] = set()
        self.position = 0

    def get(self, kind: str, ident: str) -> Document | None:
        key = (kind, ident)
        if key not in self._docs:
            self._docs[key] = self._load(kind, ident)
        found = self._docs[key]
        return found[2] if found else None

    def require(self, kind: str, ident: str) -> Document:
        doc = self.get(kind, ident)
        if doc is None:
            raise LookupError(f"{kind} {ident} not in the view: events out of order?")
        return doc

    def put(self, kind: str, ident: str, doc: Document, scope: str | None = None) -> None:
        """Write a document; it keeps the position it was first written at, and its scope
        unless a new one is given."""
        existing = self._docs.get((kind, ident))
        if existing is None:
            existing = self._load(kind, ident)
        created, old_scope = (existing[0], existing[1]) if existing else (self.position, None)
        self._docs[(kind, ident)] = (created, scope if scope is not None else old_scope, doc)
        self._dirty.add((kind, ident))

    def touched(self) -> Iterator[tuple[str, str, int, str | None, Document]]:
        for kind, ident in sorted(self._dirty):
            entry = self._docs[(kind, ident)]
            assert entry is not None
            yield kind, ident, entry[0], entry[1], entry[2]


class DocumentView(TrackingRecorder):
    """Queries and batch writes of one projection's documents (backend-neutral part)."""

    projection: str
    docs_table: str
    placeholder: str
    json_equal_sql: str
    """SQL comparing a document's top-level field (path parameter) with a value."""
    json_present_sql: str
    """SQL true when a document's top-level field (path parameter) is neither null nor false."""

    def transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        raise NotImplementedError

    if TYPE_CHECKING:  # provided by the backend's tracking recorder, later in the MRO
        datastore: Any

        def _insert_tracking(self, c: Any, tracking: Tracking) -> None: ...

        def create_table(self) -> None: ...

    def tracking_delete_statement(self) -> str:
        raise NotImplementedError

    def upsert_statement(self) -> str:
        return self._q(
            "INSERT INTO {docs} (kind, id, created, scope, doc) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, id) DO UPDATE SET scope=excluded.scope, doc=excluded.doc"
        )

    def _q(self, sql: str) -> str:
        return sql.replace("?", self.placeholder).replace("{docs}", self.docs_table)

    def _select_one(
        self, c: Cursor, kind: str, ident: str
    ) -> tuple[int, str | None, Document] | None:
        c.execute(
            self._q("SELECT created, scope, doc FROM {docs} WHERE kind=? AND id=?"), (kind, ident)
        )
        row = c.fetchone()
        return (row["created"], row["scope"], json.loads(row["doc"])) if row else None

    def apply(self, tracking: Tracking, work: Callable[[DocumentBatch], None]) -> None:
        """Run ``work`` over a batch of documents, then write them and the tracking record
        in one transaction: the view never holds an event's effect without its position."""
        with self.transaction(commit=True) as c:
            batch = self._batch(c)
            batch.position = tracking.notification_id
            work(batch)
            self._write(c, batch)
            self._insert_tracking(c, tracking)

    def apply_new(
        self,
        name: str,
        apply: Callable[[Any, DocumentBatch], None],
        events: Iterable[tuple[int, Any]],
        after: int | None = None,
    ) -> list[int]:
        """Apply, in one transaction with the tracking record ``name``, the events whose
        position is above the one ``name`` has recorded; returns the positions applied.

        Any number of processes may call this for the same view at once: the tracked
        position is read after taking a lock on ``name`` that is held until the
        transaction ends, so each event's effect is written exactly once. ``after`` is the
        position the events were read after, when they are a contiguous run of the store's
        log: if the view is behind it (reset by a rebuild meanwhile), nothing is applied
        and the caller reads again from the view's position."""
        with self.transaction(commit=True) as c:
            return self.apply_new_in(c, name, apply, events, after)

    def apply_new_in(
        self,
        c: Cursor,
        name: str,
        apply: Callable[[Any, DocumentBatch], None],
        events: Iterable[tuple[int, Any]],
        after: int | None = None,
    ) -> list[int]:
        """``apply_new`` inside a transaction the caller holds (``c``)."""
        self.lock_tracking(c, name)
        done = self.tracked_in(c, name)
        if after is not None and done < after:
            return []
        batch = self._batch(c)
        applied = []
        for position, event in events:
            if position > done:  # a batch may also hold a duplicate run (at least once)
                batch.position = position
                apply(event, batch)
                applied.append(position)
                done = position
        if not applied:
            return []
        self._write(c, batch)
        self._insert_tracking(c, Tracking(name, done))
        return applied

    def batch_in(self, c: Cursor) -> DocumentBatch:
        """An empty batch of this view's documents, read in ``c``'s transaction."""
        return self._batch(c)

    def write_in(self, c: Cursor, batch: DocumentBatch) -> None:
        """Write what ``batch`` holds in ``c``'s transaction (with the tracking record:
        ``track_in``)."""
        self._write(c, batch)

    def lock_tracking(self, c: Cursor, name: str) -> None:
        """Serialise the writers of the tracking record ``name`` until ``c``'s transaction
        ends, across processes."""
        raise NotImplementedError

    def tracked_in(self, c: Cursor, name: str) -> int:
        """The position ``name`` has recorded, read in ``c``'s transaction."""
        return self._max_tracking_id(name, c) or 0  # type: ignore[attr-defined]

    def track_in(self, c: Cursor, name: str, position: int) -> None:
        """Record ``position`` under ``name`` in ``c``'s transaction (hold
        ``lock_tracking(c, name)`` and know it is above what ``name`` holds)."""
        self._insert_tracking(c, Tracking(name, position))

    def track_at_least(self, names: Iterable[str], position: int) -> None:
        """Record ``position`` under each of ``names`` that holds a lower one, in one
        transaction (views rebuilt up to ``position`` elsewhere: an event at or below it
        is then taken as applied under every name)."""
        with self.transaction(commit=True) as c:
            for name in names:
                self.lock_tracking(c, name)
                if self.tracked_in(c, name) < position:
                    self.track_in(c, name, position)

    def tables(self) -> list[str]:
        """The view's own tables (quoted as the SQL uses them), tracking aside."""
        return [self.docs_table]

    def count(self) -> int:
        """How many documents the view holds."""
        with self.transaction(commit=False) as c:
            c.execute(self._q("SELECT COUNT(*) AS n FROM {docs}"))
            return int(c.fetchone()["n"])

    def replace_with(self, c: Cursor, other: "DocumentView") -> None:
        """In ``c``'s transaction, make this view's tables hold exactly ``other``'s rows
        (a view of the same projection built elsewhere: same tables, same columns)."""
        for mine, theirs in zip(self.tables(), other.tables(), strict=True):
            c.execute(f"DELETE FROM {mine}")
            c.execute(f"INSERT INTO {mine} SELECT * FROM {theirs}")

    def drop(self) -> None:
        """Remove the view's tables and its tracking record (a view built aside)."""
        with self.transaction(commit=True) as c:
            for table in self.tables():
                c.execute(f"DROP TABLE IF EXISTS {table}")
            self._drop_tracking(c)

    def _drop_tracking(self, c: Cursor) -> None:
        c.execute(self.tracking_delete_statement(), (self.projection,))

    def _batch(self, c: Cursor) -> DocumentBatch:
        """The batch a projection's ``apply`` works on (a view with more tables extends it)."""
        return DocumentBatch(lambda kind, ident: self._select_one(c, kind, ident))

    def _write(self, c: Cursor, batch: DocumentBatch) -> None:
        rows = [
            (kind, ident, created, scope, encode(doc))
            for kind, ident, created, scope, doc in batch.touched()
        ]
        if rows:  # one statement, many rows: PostgreSQL pipelines them in one round trip
            c.executemany(self.upsert_statement(), rows)

    def get(self, kind: str, ident: str) -> Document | None:
        with self.transaction(commit=False) as c:
            found = self._select_one(c, kind, ident)
        return found[2] if found else None

    def find(self, kind: str, scope: str | None = None) -> list[Document]:
        sql = "SELECT doc FROM {docs} WHERE kind=?"
        params: tuple[str, ...] = (kind,)
        if scope is not None:
            sql += " AND scope=?"
            params = (kind, scope)
        with self.transaction(commit=False) as c:
            c.execute(self._q(sql + " ORDER BY created, id"), params)
            return [json.loads(row["doc"]) for row in c.fetchall()]

    def find_where(
        self, kind: str, equal: Mapping[str, str] | None = None, present: Iterable[str] = ()
    ) -> list[Document]:
        """Documents of a kind whose top-level ``equal`` fields have those (string) values
        and whose ``present`` fields are set (neither missing, null nor false), filtered by
        the database rather than by loading every document of the kind."""
        sql, params = "SELECT doc FROM {docs} WHERE kind=?", [kind]
        for name, value in (equal or {}).items():
            sql += f" AND {self.json_equal_sql}"
            params += [self._json_path(_field_name(name)), value]
        for name in present:
            sql += f" AND {self.json_present_sql}"
            params.append(self._json_path(_field_name(name)))
        with self.transaction(commit=False) as c:
            c.execute(self._q(sql + " ORDER BY created, id"), tuple(params))
            return [json.loads(row["doc"]) for row in c.fetchall()]

    def _json_path(self, name: str) -> str:
        """How the backend's JSON functions name a top-level field."""
        return name

    def dump(self) -> list[tuple[str, str, int, str | None, str]]:
        """Every row, in key order: what a rebuild must reproduce exactly."""
        with self.transaction(commit=False) as c:
            c.execute(self._q("SELECT kind, id, created, scope, doc FROM {docs} ORDER BY kind, id"))
            return [(r["kind"], r["id"], r["created"], r["scope"], r["doc"]) for r in c.fetchall()]

    def position(self) -> int:
        return self.max_tracking_id(self.projection) or 0

    def position_sql(self) -> str:
        """A query of the view's position, its one parameter the tracking name."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget every document and the position, in one transaction (for a rebuild)."""
        self.forget((self.projection,))

    def forget(self, names: Iterable[str]) -> None:
        """Forget every document and the positions recorded under ``names`` (this view's
        own, or the per-partition ones of a Kafka worker), in one transaction."""
        with self.transaction(commit=True) as c:
            self._clear(c)
            for name in names:
                c.execute(self.tracking_delete_statement(), (name,))

    def _clear(self, c: Cursor) -> None:
        c.execute(self._q("DELETE FROM {docs}"))


def positions(views: Sequence[DocumentView]) -> list[int]:
    """The positions of ``views`` (of one database), read in one query."""
    columns = ", ".join(f"({view.position_sql()}) AS p{n}" for n, view in enumerate(views))
    with views[0].transaction(commit=False) as c:
        c.execute(f"SELECT {columns}", tuple(view.projection for view in views))
        row = c.fetchone()
    return [int(row[f"p{n}"] or 0) for n in range(len(views))]


def _field_name(name: str) -> str:
    if not _FIELD.fullmatch(name):
        raise ValueError(f"not a document field name: {name!r}")
    return name


_FIELD = re.compile(r"[a-z_][a-z0-9_]*")

_DOCS_COLUMNS = (
    "kind TEXT NOT NULL, id TEXT NOT NULL, created BIGINT NOT NULL, scope TEXT, "
    "doc TEXT NOT NULL, PRIMARY KEY (kind, id)"
)


class SQLiteDocumentView(DocumentView, SQLiteTrackingRecorder):
    placeholder = "?"
    json_equal_sql = "json_extract(doc, ?) = ?"
    json_present_sql = "json_type(doc, ?) NOT IN ('null', 'false')"

    def __init__(self, datastore: SQLiteDatastore, projection: str) -> None:
        self.projection = projection
        self.docs_table = f"{projection}_docs"
        super().__init__(datastore)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.docs_table} ({_DOCS_COLUMNS})",
            f"CREATE INDEX IF NOT EXISTS {self.docs_table}_scope "
            f"ON {self.docs_table} (kind, scope)",
        ]

    def transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        return cast(AbstractContextManager[Any], self.datastore.transaction(commit=commit))

    def create_table(self) -> None:
        # A transaction that reads the schema before it writes (CREATE ... IF NOT EXISTS
        # on a table that exists, then one that does not) fails at once with "database is
        # locked" when another process wrote meanwhile, without waiting: start it again.
        deadline = time.monotonic() + SQLITE_SETUP_SECONDS
        while True:
            try:
                super().create_table()
                return
            except OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def tracking_delete_statement(self) -> str:
        return "DELETE FROM tracking WHERE application_name=?"

    def position_sql(self) -> str:
        return "SELECT MAX(notification_id) FROM tracking WHERE application_name=?"

    def lock_tracking(self, c: Cursor, name: str) -> None:
        # A write as the transaction's first statement takes SQLite's write lock now (it
        # serialises every writer of the file), so the tracked position read next cannot
        # change before this transaction commits.
        c.execute(
            "UPDATE tracking SET notification_id = notification_id WHERE application_name = ?",
            (name,),
        )

    def _json_path(self, name: str) -> str:
        return f"$.{name}"


class PostgresDocumentView(DocumentView, PostgresTrackingRecorder):
    placeholder = "%s"
    json_equal_sql = "(doc::jsonb ->> ?) = ?"
    json_present_sql = "COALESCE(doc::jsonb -> ?, 'null'::jsonb) NOT IN ('null', 'false')"

    def __init__(self, datastore: PostgresDatastore, projection: str) -> None:
        self.projection = projection
        super().__init__(datastore, tracking_table_name=f"{projection}_tracking")
        schema = self.datastore.schema
        self.docs_table = f'"{schema}"."{projection}_docs"'
        self._tracking = f'"{schema}"."{projection}_tracking"'
        self.sql_create_statements.extend(
            [
                SQL(f"CREATE TABLE IF NOT EXISTS {self.docs_table} ({_DOCS_COLUMNS})").format(),
                SQL(
                    f'CREATE INDEX IF NOT EXISTS "{projection}_docs_scope" '
                    f"ON {self.docs_table} (kind, scope)"
                ).format(),
            ]
        )

    def transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        return cast(AbstractContextManager[Any], self.datastore.transaction(commit=commit))

    def _create_table(self, curs: Any) -> None:
        # Processes starting together on a fresh schema create its tables one at a time:
        # concurrent CREATE TABLE IF NOT EXISTS of one table fails in one of them
        # (duplicate key in pg_type_typname_nsp_index).
        curs.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            (f"okrgov.views:{self.datastore.schema}",),
        )
        super()._create_table(curs)

    def tracking_delete_statement(self) -> str:
        return f"DELETE FROM {self._tracking} WHERE application_name=%s"

    def position_sql(self) -> str:
        return f"SELECT MAX(notification_id) FROM {self._tracking} WHERE application_name=%s"

    def lock_tracking(self, c: Cursor, name: str) -> None:
        c.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"okrgov.tracking:{name}",))

    def _drop_tracking(self, c: Cursor) -> None:
        c.execute(f"DROP TABLE IF EXISTS {self._tracking}")
