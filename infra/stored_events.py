"""The raw event table, read and guarded below the event-sourcing library: rows exactly as
stored (SQLite ``stored_events``, PostgreSQL ``<schema>.okrgov_events``), in notification
order, a page at a time; and the database triggers that refuse UPDATE and DELETE on it.

Tamper evidence hashes these rows, never events decoded by the mapper: a change to the
stored bytes must show even where decoding would hide or reject it."""

from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import ApplicationRecorder, ProgrammingError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Composed, Identifier

from infra.keyset import keyset_pages

log = structlog.get_logger(__name__)

LEAF_VERSION = b"okrgov-event-leaf/1"
_NULL = 0xFFFFFFFF


class StoredRow(NamedTuple):
    """One row of the event table as stored, with its notification id as ``position``."""

    position: int
    originator_id: str | None
    originator_version: int | None
    topic: str | None
    state: bytes | None

    def leaf(self) -> bytes:
        """The canonical bytes of this row, hashed as one leaf of the Merkle tree:

        ``"okrgov-event-leaf/1" || i64(position) || str(originator_id) ||
        i64(originator_version) || str(topic) || blob(state)``

        where ``i64`` is 8 bytes big-endian two's complement, ``blob(b)`` is
        ``u32(len(b)) || b`` (4 bytes big-endian length), ``str(s)`` is ``blob`` of the
        UTF-8 text, and a NULL column is ``u32(0xFFFFFFFF)`` with no bytes. The
        originator id is 32 lowercase hex digits: the text SQLite stores, the hex form of
        PostgreSQL's 16-byte ``uuid``. The position is inside the leaf, so a row moved to
        another notification id no longer matches the leaf recorded there."""
        return b"".join(
            (
                LEAF_VERSION,
                _i64(self.position),
                _blob(self.originator_id),
                _i64(self.originator_version),
                _blob(self.topic),
                _blob(self.state),
            )
        )


def _i64(value: int | None) -> bytes:
    return (value if value is not None else -(2**63)).to_bytes(8, "big", signed=True)


def _blob(value: str | bytes | None) -> bytes:
    if value is None:
        return _NULL.to_bytes(4, "big")
    data = value.encode() if isinstance(value, str) else bytes(value)
    return len(data).to_bytes(4, "big") + data


def _originator(value: Any) -> str | None:
    return value.hex if isinstance(value, UUID) else value


@dataclass(frozen=True)
class _Dialect:
    """How one backend's raw event table is read and guarded."""

    table: Callable[[Any], str]
    """The events table's name as SQL uses it, from the recorder."""
    position: str
    """The column holding the notification id."""
    mark: str
    """The parameter placeholder."""
    key: Callable[[str], Any]
    """An originator id (32 hex digits) as the table stores it."""
    guard: Callable[["StoredEvents"], bool]
    """Installs the append-only triggers (``StoredEvents.guard_append_only``)."""


def _guard_sqlite(events: "StoredEvents") -> bool:
    with events.datastore.transaction(commit=True) as c:
        for statement in sqlite_append_only_statements(events.table):
            c.execute(statement)
    return True


def _guard_postgres(events: "StoredEvents") -> bool:
    schema, table = events.datastore.schema, events.table_name
    try:
        with events.datastore.transaction(commit=True) as c:
            c.execute("SELECT pg_advisory_xact_lock(hashtext('okrgov-append-only'))")
            c.execute(
                "SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND tgname = %s",
                (events.table, APPEND_ONLY_TRIGGER),
            )
            if c.fetchone() is None:
                for composed in postgres_append_only_statements(schema, table):
                    c.execute(composed)
    except ProgrammingError as exc:
        # The library wraps psycopg's errors; only a missing privilege is expected here.
        if not isinstance(exc.__cause__, psycopg.errors.InsufficientPrivilege):
            raise
        log.warning("events.append_only_not_installed", reason=str(exc).splitlines()[0])
        return False
    return True


_DIALECTS: dict[type[ApplicationRecorder], _Dialect] = {
    SQLiteApplicationRecorder: _Dialect(
        table=lambda recorder: recorder.events_table_name,
        position="rowid",
        mark="?",
        key=lambda originator_id: originator_id,
        guard=_guard_sqlite,
    ),
    PostgresApplicationRecorder: _Dialect(
        table=lambda recorder: Identifier(
            recorder.datastore.schema, recorder.events_table_name
        ).as_string(),
        position="notification_id",
        mark="%s",
        key=lambda originator_id: UUID(hex=originator_id),
        guard=_guard_postgres,
    ),
}


def _dialect(recorder: ApplicationRecorder) -> _Dialect:
    for kind, dialect in _DIALECTS.items():
        if isinstance(recorder, kind):
            return dialect
    raise TypeError(f"no raw reader for {type(recorder).__name__}")


class StoredEvents:
    """Direct reads of one application's event table, on SQLite or PostgreSQL."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self._dialect = _dialect(recorder)
        self.recorder = recorder
        self.datastore: Any = getattr(recorder, "datastore", None)
        self.table_name: str = getattr(recorder, "events_table_name", "")
        """The events table's own name (``table`` is it as SQL uses it, schema-qualified)."""
        self.table = self._dialect.table(recorder)

    def _sql(self, text: str) -> str:
        dialect = self._dialect
        return text.format(table=self.table, pos=dialect.position).replace("?", dialect.mark)

    def _select(self, where: str, params: tuple[Any, ...]) -> list[StoredRow]:
        sql = self._sql(
            "SELECT {pos} AS position, originator_id, originator_version, topic, state "
            "FROM {table} WHERE " + where
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, params)
            rows = c.fetchall()
        return [
            StoredRow(
                r["position"],
                _originator(r["originator_id"]),
                r["originator_version"],
                r["topic"],
                bytes(r["state"]) if r["state"] is not None else None,
            )
            for r in rows
        ]

    def page(self, after: int, limit: int) -> list[StoredRow]:
        """Up to ``limit`` rows with a position above ``after``, in position order."""
        return self._select("{pos} > ? ORDER BY {pos} LIMIT ?", (after, limit))

    def rows(self, after: int = 0, page_size: int = 2000) -> Iterator[StoredRow]:
        """Every row after ``after`` in position order, read a page at a time (keyset
        pagination: the table only ever grows, so no row is skipped or repeated)."""
        return keyset_pages(self.page, _position, after=after, page_size=page_size)

    def at(self, position: int) -> StoredRow | None:
        found = self._select("{pos} = ?", (position,))
        return found[0] if found else None

    def position_of(self, originator_id: str, originator_version: int) -> int | None:
        """Where the event with this key is stored now, if anywhere."""
        ident = self._dialect.key(originator_id)
        with suppress(ValueError):
            found = self._select(
                "originator_id = ? AND originator_version = ?", (ident, originator_version)
            )
            return found[0].position if found else None
        return None

    # ---- append-only ---------------------------------------------------------------------

    def guard_append_only(self) -> bool:
        """Install the triggers that refuse UPDATE and DELETE (and TRUNCATE) on the event
        table, unless present. True when they are in place afterwards; False when this
        connection may not install them (PostgreSQL as the application role: the owner
        installs them, see ``okrgov db init``)."""
        return self._dialect.guard(self)


APPEND_ONLY_TRIGGER = "okrgov_events_append_only"
REFUSAL = "okrgov events are append-only"


def sqlite_append_only_statements(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_refuse_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: {op} refused'); END"
        for op in ("UPDATE", "DELETE")
    ]


def postgres_append_only_statements(schema: str, table: str) -> list[Composed]:
    """A function raising for any change but INSERT, and the triggers calling it: row
    UPDATE and DELETE, statement TRUNCATE. Only the table's owner (or a superuser) can
    drop or disable them, and the application role is neither."""
    function = Identifier(schema, "okrgov_refuse_event_change")
    target = Identifier(schema, table)
    return [
        SQL(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '{refusal}: % refused on %.%', "
            "TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME; END $$"
        ).format(function=function, refusal=SQL(REFUSAL)),
        SQL(
            "CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {target} "
            "FOR EACH ROW EXECUTE FUNCTION {function}()"
        ).format(trigger=Identifier(APPEND_ONLY_TRIGGER), target=target, function=function),
        SQL(
            "CREATE TRIGGER {trigger} BEFORE TRUNCATE ON {target} "
            "FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        ).format(
            trigger=Identifier(APPEND_ONLY_TRIGGER + "_truncate"), target=target, function=function
        ),
    ]


def _position(row: StoredRow) -> int:
    return row.position
