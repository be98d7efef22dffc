"""A view that keeps, beside its JSON documents, one row per event: the audit trail's
entries, in a real table with indexed columns, written with the documents and the
tracking record in one transaction (the same ``apply`` as every document view).

Entries are written once and never changed or deleted but by a rebuild. The policy
decision of an entry's command is not written into the entry: a decision names the
events it covers, and applying it writes one link per covered event (and one for
itself) into a second table, which every query joins by aggregate id and version. So
entries and links may be written in any order (a decision before or after the events it
covers, as a consumer of a partitioned topic sees them) and read the same.

Over 300 lines on purpose: the entries table, its SQLite and PostgreSQL statements and its
paging are one storage format, kept beside each other so that they stay the same."""

import json
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL

from infra.keyset import keyset_pages
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
#: Read from an entry, not stored in a column of its own: the date of the week a check-in
#: reports (kept in its details; ``at`` is when it was recorded), null for other entries.
EFFECTIVE_ON = "effective_on"
#: Every field of an entry as read and exported: its columns, then those read from them
#: (appended, so the columns before them keep their places).
EXPORT_COLUMNS = (*COLUMNS, EFFECTIVE_ON)
#: The decision columns an entry takes from the link its command's decision wrote.
DECISION_COLUMNS = ("decision_id", "decision_outcome", "policy_version", "policy_digest")
#: The columns the entries table itself stores (the others are joined from the links).
STORED_COLUMNS = tuple(c for c in COLUMNS if c not in DECISION_COLUMNS)
#: Not exported: the ids of the rules a decision denied or warned about, or NULL, so the
#: violations are found through a partial index instead of by reading every decision.
RULES = "rules"

_TABLE = (
    "position BIGINT PRIMARY KEY, at TEXT NOT NULL, actor TEXT, "
    "action TEXT NOT NULL, aggregate_type TEXT NOT NULL, aggregate_id TEXT NOT NULL, "
    "aggregate_version BIGINT, objective_id TEXT, changes TEXT NOT NULL, reason TEXT, "
    "correlation_id TEXT, details TEXT NOT NULL, rules TEXT"
)
#: One row per event a decision covers: which decision let it through, under which policy.
_LINKS_TABLE = (
    "aggregate_id TEXT NOT NULL, aggregate_version BIGINT NOT NULL, "
    "decision_id TEXT NOT NULL, decision_outcome TEXT NOT NULL, policy_version INTEGER, "
    "policy_digest TEXT, PRIMARY KEY (aggregate_id, aggregate_version)"
)
_LINK_COLUMNS = ("aggregate_id", "aggregate_version", *DECISION_COLUMNS)
#: Every column of an entry, read from the entries (e) joined with the links (l).
_SELECT = ", ".join(f"l.{c}" if c in DECISION_COLUMNS else f"e.{c}" for c in COLUMNS)
_FROM = (
    "{entries} e LEFT JOIN {links} l "
    "ON l.aggregate_id = e.aggregate_id AND l.aggregate_version = e.aggregate_version"
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
    """An ISO 8601 date or date-time; one without a zone is taken as UTC. A moment outside
    the years 1 to 9999 once in UTC (``0001-01-01T00:00:00+14:00``) is refused here, not
    left to fail when it is compared with the trail's UTC times."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 timestamp (for example 2026-10-01T09:00:00Z)"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is outside the years 1 to 9999 in UTC") from None
    return moment


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
    """A document batch that also appends entries and links events to decisions."""

    def __init__(self, load: Any) -> None:
        super().__init__(load)
        self.rows: list[tuple[Any, ...]] = []
        """The entries added, as the rows the entries table stores."""
        self.links: list[tuple[Any, ...]] = []

    def add(self, entry: Entry) -> None:
        """Append an entry; its decision columns, if given, are not stored (see ``link``).
        Kept as its row from here on, not as the entry, so the batch holds flat tuples of
        text and numbers (which the collector does not trace) rather than dictionaries."""
        self.rows.append(_row(entry))

    def link(self, aggregate_id: str, aggregate_version: int, decision: Mapping[str, Any]) -> None:
        """Record that ``decision`` (its ``DECISION_COLUMNS``) let the event at this
        aggregate id and version through, whether its entry is written yet or not."""
        unknown = set(decision) - set(DECISION_COLUMNS)
        if unknown:
            raise ValueError(f"a link holds only the decision columns, not {sorted(unknown)}")
        self.links.append(
            (aggregate_id, aggregate_version, *(decision.get(c) for c in DECISION_COLUMNS))
        )


class EntryView(DocumentView):
    """The entries of one projection: append, link to decisions, page through with filters."""

    entries_table: str
    links_table: str
    indexes: list[str]
    """The entries table's secondary indexes, as SQL names them."""

    def _q(self, sql: str) -> str:
        sql = sql.replace("{entries}", self.entries_table).replace("{links}", self.links_table)
        return super()._q(sql)

    def _batch(self, c: Cursor) -> DocumentBatch:
        return EntryBatch(lambda kind, ident: self._select_one(c, kind, ident))

    def _write(self, c: Cursor, batch: DocumentBatch) -> None:
        super()._write(c, batch)
        assert isinstance(batch, EntryBatch)
        if batch.rows:
            c.executemany(self._q(_insert("{entries}", (*STORED_COLUMNS, RULES))), batch.rows)
        if batch.links:
            c.executemany(self._q(_insert("{links}", _LINK_COLUMNS)), batch.links)

    def tables(self) -> list[str]:
        return [*super().tables(), self.entries_table, self.links_table]

    def drop_indexes(self) -> None:
        """Drop the entries' secondary indexes, for a view that is only written and then
        copied whole (one built aside): keeping them up to date row by row is work no
        reader ever uses. A view without them is still correct, only slower to query."""
        with self.transaction(commit=True) as c:
            for index in self.indexes:
                c.execute(f"DROP INDEX IF EXISTS {index}")

    def _clear(self, c: Cursor) -> None:
        super()._clear(c)
        c.execute(self._q("DELETE FROM {entries}"))
        c.execute(self._q("DELETE FROM {links}"))

    # ---- reading -----------------------------------------------------------------------

    def entries(self, query: EntryQuery, after: int = 0, limit: int = 100) -> list[Entry]:
        """Up to ``limit`` entries matching ``query`` after position ``after``, in order."""
        where, params = _where(query, after)
        sql = f"SELECT {_SELECT} FROM {_FROM} WHERE {where} ORDER BY e.position LIMIT ?"
        with self.transaction(commit=False) as c:
            c.execute(self._q(sql), (*params, limit))
            return [_entry(row) for row in c.fetchall()]

    def pages(self, query: EntryQuery, after: int = 0, chunk: int = 500) -> Iterator[Entry]:
        """Every entry matching ``query`` after ``after``, read ``chunk`` at a time (each
        chunk its own short read), so a result of any size never sits in memory whole."""

        def read(start: int, limit: int) -> list[Entry]:
            return self.entries(query, start, limit)

        return keyset_pages(
            read, lambda entry: int(entry["position"]), after=after, page_size=chunk
        )

    def latest(self, query: EntryQuery) -> Entry | None:
        """The last entry matching ``query``."""
        where, params = _where(query, 0)
        sql = f"SELECT {_SELECT} FROM {_FROM} WHERE {where} ORDER BY e.position DESC LIMIT 1"
        with self.transaction(commit=False) as c:
            c.execute(self._q(sql), params)
            row = c.fetchone()
        return _entry(row) if row else None

    def count_entries(self) -> int:
        """How many entries the view holds."""
        with self.transaction(commit=False) as c:
            c.execute(self._q("SELECT COUNT(*) AS n FROM {entries}"))
            return int(c.fetchone()["n"])

    def dump_entries(self) -> list[tuple[Any, ...]]:
        """Every entry row with its decision, in position order: what a rebuild (or a
        replay in any per-aggregate order) must reproduce."""
        with self.transaction(commit=False) as c:
            names = (*COLUMNS, RULES)
            c.execute(self._q(f"SELECT {_SELECT}, e.{RULES} FROM {_FROM} ORDER BY e.position"))
            return [tuple(row[name] for name in names) for row in c.fetchall()]

    def dump_links(self) -> list[tuple[Any, ...]]:
        """Every link row, in key order (links to events not recorded yet included)."""
        with self.transaction(commit=False) as c:
            c.execute(
                self._q(
                    f"SELECT {', '.join(_LINK_COLUMNS)} FROM {{links}} "
                    "ORDER BY aggregate_id, aggregate_version"
                )
            )
            return [tuple(row[name] for name in _LINK_COLUMNS) for row in c.fetchall()]


def _where(query: EntryQuery, after: int) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause over the entries (alias ``e``) and its parameters."""
    clauses: list[str] = ["e.position > ?"]
    params: list[Any] = [after]
    # With an aggregate or objective named, its index finds the few entries and the event
    # type is checked on them: ``e.action || ''`` keeps a planner without statistics
    # (SQLite's) from walking the event type's index instead, every check-in of the year
    # to find one objective's (0.6 s against 0.5 ms per objective at 1M events).
    action = "e.action || ''" if query.aggregate_id or query.objective_id else "e.action"
    for column in ("aggregate_id", "objective_id", "actor", "action"):
        value = getattr(query, column)
        if value is not None:
            clauses.append(f"{action if column == 'action' else 'e.' + column} = ?")
            params.append(value)
    if query.actions:
        clauses.append(f"{action} IN ({', '.join('?' for _ in query.actions)})")
        params.extend(query.actions)
    if query.since is not None:
        clauses.append("e.at >= ?")
        params.append(timestamp_text(query.since))
    if query.until is not None:
        clauses.append("e.at < ?")
        params.append(timestamp_text(query.until))
    if query.upto is not None:
        clauses.append("e.position <= ?")
        params.append(query.upto)
    if query.flagged:
        clauses.append("e.rules IS NOT NULL")
    return " AND ".join(clauses), tuple(params)


def _insert(table: str, names: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"


def json_value(value: Any) -> Any:
    """What JSON carries for a value it has no type for: an id or a time as text, an enum
    by value, a set as a list (as ``projections.audit.plain`` makes them)."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


_encode = json.JSONEncoder(separators=(",", ":"), default=json_value).encode
"""Compact JSON in the value's own key order (the encoder made once, not per value)."""


def _row(entry: Entry) -> tuple[Any, ...]:
    values = [_encode(entry[c]) if c in JSON_COLUMNS else entry.get(c) for c in STORED_COLUMNS]
    rules = entry.get(RULES)
    return (*values, _encode(rules) if rules else None)


def _entry(row: Any) -> Entry:
    entry = {c: row[c] for c in COLUMNS}
    for column in JSON_COLUMNS:
        entry[column] = json.loads(entry[column])
    entry["position"] = int(entry["position"])
    entry[EFFECTIVE_ON] = reported_week(entry)
    return entry


def reported_week(entry: Entry) -> str | None:
    """The date of the week a check-in's entry reports; an entry written before entries
    kept it reads as the day it was recorded, as the check-in event itself now reads
    (``KeyResult.CheckedIn.upcast_v1_v2``)."""
    if entry["action"] != "KeyResult.CheckedIn":
        return None
    return str(entry["details"].get(EFFECTIVE_ON) or str(entry["at"])[:10])


class EntryProjection(Projection):
    """A projection whose view keeps entries as well as documents (an ``EntryView``)."""

    def apply(self, event: Any, docs: DocumentBatch) -> None:
        if not isinstance(docs, EntryBatch):
            raise TypeError(f"{self.name} needs an entry view, not {type(docs).__name__}")
        self.record(event, docs)

    @abstractmethod
    def record(self, event: Any, batch: EntryBatch) -> None: ...


def _create_statements(table: str, prefix: str, links: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {table} ({_TABLE})",
        f"CREATE TABLE IF NOT EXISTS {links} ({_LINKS_TABLE})",
        *(
            f'CREATE INDEX IF NOT EXISTS "{prefix}_{name}" ON {table} ({columns}){where}'
            for name, columns, where in _INDEXES
        ),
    ]


class SQLiteEntryView(EntryView, SQLiteDocumentView):
    def __init__(self, datastore: SQLiteDatastore, projection: str) -> None:
        self.entries_table = f"{projection}_entries"
        self.links_table = f"{projection}_links"
        self.indexes = [f'"{self.entries_table}_{name}"' for name, _, _ in _INDEXES]
        super().__init__(datastore, projection)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            *_create_statements(self.entries_table, self.entries_table, self.links_table),
        ]


class PostgresEntryView(EntryView, PostgresDocumentView):
    def __init__(self, datastore: PostgresDatastore, projection: str) -> None:
        super().__init__(datastore, projection)
        self.entries_table = f'"{self.datastore.schema}"."{projection}_entries"'
        self.links_table = f'"{self.datastore.schema}"."{projection}_links"'
        self.indexes = [
            f'"{self.datastore.schema}"."{projection}_entries_{name}"' for name, _, _ in _INDEXES
        ]
        statements = _create_statements(
            self.entries_table, f"{projection}_entries", self.links_table
        )
        self.sql_create_statements.extend(SQL(statement).format() for statement in statements)
