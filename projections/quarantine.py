"""The quarantine of the event stream: records a projection worker refused (another store's,
forged, altered, unsigned), kept in the worker's own database with why, so they are
reported and can be examined, and never applied.

One row per record (topic, partition, offset and a digest of the value): a record read
again after a crash or a rebalance is not quarantined twice. A row is written in its own
transaction before the worker applies anything of the same poll; the tracked positions
are never touched by a quarantined record."""

import hashlib
from dataclasses import dataclass
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Identifier

TABLE = "stream_quarantine"
_COLUMNS = (
    "topic",
    "kafka_partition",
    "kafka_offset",
    "digest",
    "reason",
    "detail",
    "source",
    "event_id",
    "position",
    "record_key",
    "record_value",
)


@dataclass(frozen=True)
class Quarantined:
    """A refused record and why; what could be read of it (source, id, position) or None."""

    topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    source: str | None
    event_id: str | None
    position: int | None
    key: bytes | None
    value: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.value).hexdigest()

    def row(self) -> tuple[Any, ...]:
        return (
            self.topic,
            self.partition,
            self.offset,
            self.digest,
            self.reason,
            self.detail,
            self.source,
            self.event_id,
            self.position,
            self.key,
            self.value,
        )


class Quarantine:
    """The quarantine table of one database: ``SQLiteQuarantine`` or ``PostgresQuarantine``,
    picked for a datastore by ``projections.backends.quarantine``."""

    table: str
    """The table's name as SQL uses it."""
    insert: str
    """Inserts one row, or nothing when the record is already kept."""

    def __init__(self, datastore: Any) -> None:
        self.datastore: Any = datastore

    def create_table(self) -> None:
        raise NotImplementedError

    def _inserted(self, c: Any) -> bool:
        """Whether the last insert on ``c`` kept a row."""
        raise NotImplementedError

    def put(self, records: list[Quarantined]) -> list[Quarantined]:
        """Keep ``records`` in one transaction; returns those not already kept."""
        new = []
        with self.datastore.transaction(commit=True) as c:
            for record in records:
                c.execute(self.insert, record.row())
                if self._inserted(c):
                    new.append(record)
        return new

    def rows(self) -> list[dict[str, Any]]:
        """Every quarantined record, oldest first."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM {self.table} "
                "ORDER BY topic, kafka_partition, kafka_offset"
            )
            found = [dict(row) for row in c.fetchall()]
        for row in found:
            for name in ("record_key", "record_value"):
                if row[name] is not None:
                    row[name] = bytes(row[name])
            if row["position"] is not None:
                row["position"] = int(row["position"])
        return found

    def count(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT COUNT(*) AS n FROM {self.table}")
            return int(c.fetchone()["n"])


class SQLiteQuarantine(Quarantine):
    def __init__(self, datastore: SQLiteDatastore) -> None:
        super().__init__(datastore)
        self.table = TABLE
        self.insert = (
            f"INSERT OR IGNORE INTO {TABLE} ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join(['?'] * len(_COLUMNS))})"
        )

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} ("
                "id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "quarantined_at TEXT NOT NULL "
                "DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), "
                "topic TEXT NOT NULL, kafka_partition INTEGER NOT NULL, "
                "kafka_offset INTEGER NOT NULL, digest TEXT NOT NULL, "
                "reason TEXT NOT NULL, detail TEXT NOT NULL, source TEXT, event_id TEXT, "
                "position INTEGER, record_key BLOB, record_value BLOB NOT NULL, "
                "UNIQUE (topic, kafka_partition, kafka_offset, digest))"
            )

    def _inserted(self, c: Any) -> bool:
        c.execute("SELECT changes() AS n")
        return bool(c.fetchone()["n"])


class PostgresQuarantine(Quarantine):
    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__(datastore)
        self.table = Identifier(datastore.schema, TABLE).as_string()
        self.insert = (
            f"INSERT INTO {self.table} ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(_COLUMNS))}) ON CONFLICT DO NOTHING"
        )

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            # Workers starting together on a fresh schema: one creates, the others wait.
            c.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"okrgov-{TABLE}",))
            c.execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {table} ("
                    "id BIGSERIAL PRIMARY KEY, "
                    "quarantined_at TIMESTAMPTZ NOT NULL DEFAULT now(), "
                    "topic TEXT NOT NULL, kafka_partition INTEGER NOT NULL, "
                    "kafka_offset BIGINT NOT NULL, digest TEXT NOT NULL, "
                    "reason TEXT NOT NULL, detail TEXT NOT NULL, source TEXT, event_id TEXT, "
                    "position BIGINT, record_key BYTEA, record_value BYTEA NOT NULL, "
                    "UNIQUE (topic, kafka_partition, kafka_offset, digest))"
                ).format(table=Identifier(self.datastore.schema, TABLE))
            )

    def _inserted(self, c: Any) -> bool:
        return bool(c.rowcount)
