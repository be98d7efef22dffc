"""One process at a time sets up a store: creates its tables, installs its triggers and
seeds what a new store starts with. Two processes starting together on a fresh database
would otherwise race on ``CREATE TABLE IF NOT EXISTS`` (PostgreSQL answers one of them
``duplicate key value violates unique constraint "pg_type_typname_nsp_index"``) or both
seed the store.

PostgreSQL: a session advisory lock named after the store's schema, held on a connection
of its own for the duration. SQLite: an exclusive ``flock`` on a file beside the database
(the database's own locks do not cover a transaction that reads the schema before it
writes: it fails at once with "database is locked" instead of waiting)."""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import structlog

log = structlog.get_logger(__name__)


@contextmanager
def postgres_setup_lock(url: str, schema: str | None) -> Iterator[None]:
    name = f"okrgov.setup:{schema or 'public'}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))


@contextmanager
def sqlite_setup_lock(database: Path) -> Iterator[None]:
    lock_path = database.with_name(database.name + ".setup-lock")
    with lock_path.open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
