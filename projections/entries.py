"""A view that keeps, beside its JSON documents, one row per event: the audit trail's
entries, in a real table with indexed columns, written with the documents and the
tracking record in one transaction (the same ``apply`` as every document view).

Entries are appended in store order and never deleted but by a rebuild; the only change
an entry takes after it is written is the policy decision of its command, which is
recorded after the command's events (possibly in the next batch)."""

import json
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL

from projections.documents import (
    Cursor,
    DocumentBatch,
    DocumentView,
    PostgresDocumentView,
    SQLiteDocumentView,
)
from projections.follower import Projection

Entry = dict[str, Any]

#: Every column of an entry, in the order exports list them (a stable public order).
COLUMNS = (
    "position",
    "at",
    "actor",
    "action",
    "aggregate_type",
    "aggregate_id",
    "aggregate_version",
    "objective_id",
    "changes",
    "reason",
    "correlation_id",
    "decision_id",
    "decision_outcome",
    "policy_version",
    "policy_digest",
    "details",
)
JSON_COLUMNS = ("changes", "details")
#: The decision columns a command's entries take from the decision recorded after them.
DECISION_COLUMNS = ("decision_id", "decision_outcome", "policy_version", "policy_digest")
#: Not exported: the ids of the rules a decision denied or warned about, or NULL, so the
#: violations are found through a partial index instead of by reading every decision.
RULES = "rules"

_TABLE = (
    "position BIGINT PRIMARY KEY, at TEXT NOT NULL, actor TEXT, "
    "action TEXT NOT NULL, aggregate_type TEXT NOT NULL, aggregate_id TEXT NOT NULL, "
    "aggregate_version BIGINT, objective_id TEXT, changes TEXT NOT NULL, reason TEXT, "
    "correlation_id TEXT, decision_id TEXT, decision_outcome TEXT, policy_version INTEGER, "
    "policy_digest TEXT, details TEXT NOT NULL, rules TEXT"
)
#: (index name suffix, indexed columns, partial condition)
_INDEXES = (
    ("aggregate", "aggregate_id, position", ""),
    ("objective", "objective_id, position", ""),
    ("actor", "actor, position", ""),
    ("action", "action, position", ""),
    ("at", "at", ""),
    ("flagged", "position", " WHERE rules IS NOT NULL"),
)


def timestamp_text(moment: datetime) -> str:
    """A fixed-width UTC ISO 8601 text (``2026-11-20T09:00:00.000000Z``), so the database
    orders and compares times as text on both backends (``isoformat()`` drops zero
    microseconds, which would not), and every export shows the same text."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 date or date-time; one without a zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 timestamp (for example 2026-10-01T09:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class EntryQuery:
    """Which entries to read: every filter given must hold. Times are inclusive of
    ``since`` and exclusive of ``until``; ``upto`` bounds the positions (an export reads
    up to where the view was when it began)."""

    aggregate_id: str | None = None
    objective_id: str | None = None
    actor: str | None = None
    action: str | None = None
    actions: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    upto: int | None = None
    flagged: bool = False
    """Only decisions that denied or warned about something."""


class EntryBatch(DocumentBatch):
    """A document batch that also appends entries and annotates earlier ones."""

    def __init__(self, load: Any) -> None:
        super().__init__(load)
        self.entries: list[Entry] = []
        self.annotations: list[tuple[int, int, Entry]] = []
        """Annotations of entries written by earlier batches: (first, last, columns)."""

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)

    def annotate(self, first: int, last: int, columns: Mapping[str, Any]) -> None:
        """Set ``columns`` on every entry from position ``first`` to ``last``, whether it
        is in this batch or was written by an earlier one."""
        unknown = set(columns) - set(DECISION_COLUMNS)
        if unknown:
            raise ValueError(f"only the decision columns are annotated, not {sorted(unknown)}")
        for entry in reversed(self.entries):
            if entry["position"] < first:
                break
            if entry["position"] <= last:
                entry.update(columns)
        start = self.entries[0]["position"] if self.entries else last + 1
        if first < start:  # some were written already: update them in the table
            self.annotations.append((first, min(last, start - 1), dict(columns)))


class EntryView(DocumentView):
    """The entries of one projection: append, annotate, page through with filters."""

    entries_table: str

    def _q(self, sql: str) -> str:
        return super()._q(sql.replace("{entries}", self.entries_table))

    def _batch(self, c: Cursor) -> DocumentBatch:
        return EntryBatch(lambda kind, ident: self._select_one(c, kind, ident))

    def _write(self, c: Cursor, batch: DocumentBatch) -> None:
        super()._write(c, batch)
        assert isinstance(batch, EntryBatch)
        names = (*COLUMNS, RULES)
        if batch.entries:
            c.executemany(
                self._q(
                    f"INSERT INTO {{entries}} ({', '.join(names)}) "
                    f"VALUES ({', '.join('?' for _ in names)})"
                ),
                [_row(entry) for entry in batch.entries],
            )
        for first, last, columns in batch.annotations:
            assignments = ", ".join(f"{name}=?" for name in columns)
            c.execute(
                self._q(f"UPDATE {{entries}} SET {assignments} WHERE position BETWEEN ? AND ?"),
                (*columns.values(), first, last),
            )

    def _clear(self, c: Cursor) -> None:
        super()._clear(c)
        c.execute(self._q("DELETE FROM {entries}"))

    # ---- reading -----------------------------------------------------------------------

    def entries(self, query: EntryQuery, after: int = 0, limit: int = 100) -> list[Entry]:
        """Up to ``limit`` entries matching ``query`` after position ``after``, in order."""
        where, params = _where(query, after)
        sql = f"SELECT {', '.join(COLUMNS)} FROM {{entries}} WHERE {where} ORDER BY position"
        with self.transaction(commit=False) as c:
            c.execute(self._q(sql + " LIMIT ?"), (*params, limit))
            return [_entry(row) for row in c.fetchall()]

    def pages(self, query: EntryQuery, after: int = 0, chunk: int = 500) -> Iterator[Entry]:
        """Every entry matching ``query`` after ``after``, read ``chunk`` at a time (each
        chunk its own short read), so a result of any size never sits in memory whole."""
        while True:
            page = self.entries(query, after, chunk)
            yield from page
            if len(page) < chunk:
                return
            after = page[-1]["position"]

    def latest(self, query: EntryQuery) -> Entry | None:
        """The last entry matching ``query``."""
        where, params = _where(query, 0)
        sql = f"SELECT {', '.join(COLUMNS)} FROM {{entries}} WHERE {where} "
        with self.transaction(commit=False) as c:
            c.execute(self._q(sql + "ORDER BY position DESC LIMIT 1"), params)
            row = c.fetchone()
        return _entry(row) if row else None

    def dump_entries(self) -> list[tuple[Any, ...]]:
        """Every entry row as stored, in position order: what a rebuild must reproduce."""
        with self.transaction(commit=False) as c:
            names = (*COLUMNS, RULES)
            c.execute(self._q(f"SELECT {', '.join(names)} FROM {{entries}} ORDER BY position"))
            return [tuple(row[name] for name in names) for row in c.fetchall()]


def _where(query: EntryQuery, after: int) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = ["position > ?"]
    params: list[Any] = [after]
    for column in ("aggregate_id", "objective_id", "actor", "action"):
        value = getattr(query, column)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.actions:
        clauses.append(f"action IN ({', '.join('?' for _ in query.actions)})")
        params.extend(query.actions)
    if query.since is not None:
        clauses.append("at >= ?")
        params.append(timestamp_text(query.since))
    if query.until is not None:
        clauses.append("at < ?")
        params.append(timestamp_text(query.until))
    if query.upto is not None:
        clauses.append("position <= ?")
        params.append(query.upto)
    if query.flagged:
        clauses.append("rules IS NOT NULL")
    return " AND ".join(clauses), tuple(params)


def _encode(value: Any) -> str:
    return json.dumps(value, sort_keys=False, separators=(",", ":"))


def _row(entry: Entry) -> tuple[Any, ...]:
    values = [_encode(entry[c]) if c in JSON_COLUMNS else entry.get(c) for c in COLUMNS]
    rules = entry.get(RULES)
    return (*values, _encode(rules) if rules else None)


def _entry(row: Any) -> Entry:
    entry = {c: row[c] for c in COLUMNS}
    for column in JSON_COLUMNS:
        entry[column] = json.loads(entry[column])
    entry["position"] = int(entry["position"])
    return entry


class EntryProjection(Projection):
    """A projection whose view keeps entries as well as documents (an ``EntryView``)."""

    def apply(self, event: Any, docs: DocumentBatch) -> None:
        if not isinstance(docs, EntryBatch):
            raise TypeError(f"{self.name} needs an entry view, not {type(docs).__name__}")
        self.record(event, docs)

    @abstractmethod
    def record(self, event: Any, batch: EntryBatch) -> None: ...


def _create_statements(table: str, prefix: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {table} ({_TABLE})",
        *(
            f'CREATE INDEX IF NOT EXISTS "{prefix}_{name}" ON {table} ({columns}){where}'
            for name, columns, where in _INDEXES
        ),
    ]


class SQLiteEntryView(EntryView, SQLiteDocumentView):
    def __init__(self, datastore: SQLiteDatastore, projection: str) -> None:
        self.entries_table = f"{projection}_entries"
        super().__init__(datastore, projection)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            *_create_statements(self.entries_table, self.entries_table),
        ]


class PostgresEntryView(EntryView, PostgresDocumentView):
    def __init__(self, datastore: PostgresDatastore, projection: str) -> None:
        super().__init__(datastore, projection)
        self.entries_table = f'"{self.datastore.schema}"."{projection}_entries"'
        self.sql_create_statements.extend(
            SQL(statement).format()  # type: ignore[arg-type]
            for statement in _create_statements(self.entries_table, f"{projection}_entries")
        )
