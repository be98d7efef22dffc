"""Shared by the event-stream tests: settings on a topic of the test's own, a database of
the workers' own, and the read models compared row for row with a rebuild from the store."""

import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kafka_broker import Broker
from psycopg import sql

from infra.config import Settings
from infra.signing import encode_private_key
from projections.backends import quarantine_for, store_factory, view_for
from projections.documents import DocumentView
from projections.quarantine import Quarantine
from services.bootstrap import PROJECTIONS, Platform

PARTITIONS = 4
#: Consumer-group timings that make a join take about 3 s on tansu (DESIGN.md).
FAST_GROUP = {
    "kafka_max_poll_interval_ms": 4000,
    "kafka_session_timeout_ms": 6000,
    "kafka_heartbeat_interval_ms": 1000,
}
#: The store's signing key, shared by the relay (signing) and the workers (verifying).
SIGNING_KEY = encode_private_key(Ed25519PrivateKey.generate())


def on_stream(settings: Settings, broker: Broker, topic: str, group: str) -> Settings:
    return settings.model_copy(
        update={
            "kafka_bootstrap": broker.bootstrap,
            "kafka_topic": topic,
            "kafka_partitions": PARTITIONS,
            "kafka_group": group,
            # The relay and the workers name the same source (a worker's own database
            # would derive another) and share the store's key.
            "event_source": f"okrgov://test/{topic}",
            "signing_key": SIGNING_KEY,
            **FAST_GROUP,
        }
    )


def workers_database(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The workers' own database: another SQLite file, or another PostgreSQL schema."""
    if not settings.database_url:
        yield settings.model_copy(update={"data_dir": tmp_path / "workers"})
        return
    schema = f"w_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield settings.model_copy(update={"database_schema": schema})
    finally:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def rows(view: DocumentView) -> tuple[Any, ...]:
    """Every row a view holds: documents, and an entry view's entries (and links)."""
    extra = (getattr(view, name, None) for name in ("dump_entries", "dump_links"))
    return (view.dump(), *(dump() for dump in extra if dump is not None))


def store_views(platform: Platform) -> dict[str, tuple[Any, ...]]:
    platform.catch_up()
    return {p.name: rows(platform.followers[p.name].view) for p in PROJECTIONS}


def worker_views(settings: Settings) -> dict[str, DocumentView]:
    """The workers' views, over one datastore. Make one per process and database: building
    a store again opens and closes the SQLite file (``private_sqlite_store``), and closing
    any descriptor of it drops every POSIX lock this process holds on it, so another
    process may then delete the WAL under the open connections."""
    datastore = getattr(store_factory(settings), "datastore", None)
    views = {p.name: view_for(datastore, p) for p in PROJECTIONS}
    return views


def quarantine_of(views: dict[str, DocumentView]) -> Quarantine:
    """The quarantine in the views' database, over the same datastore."""
    quarantine = quarantine_for(next(iter(views.values())).datastore)
    quarantine.create_table()
    return quarantine


def differing(expected: dict[str, tuple[Any, ...]], views: dict[str, DocumentView]) -> list[str]:
    return [name for name, wanted in expected.items() if rows(views[name]) != wanted]


def stop_cleanly(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every worker at once; each must stop by itself, with exit status 0."""
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        assert worker.wait(timeout=30) == 0


def kill_left(workers: list[subprocess.Popen[bytes]]) -> None:
    """Whatever a failed test left running."""
    for worker in workers:
        if worker.poll() is None:
            worker.kill()
