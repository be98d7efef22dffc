"""Store-wide locks between processes, named for what they guard.

``setup``: one process at a time sets up a store: creates its tables, installs its
triggers and seeds what a new store starts with. Two processes starting together on a
fresh database would otherwise race on ``CREATE TABLE IF NOT EXISTS`` (PostgreSQL answers
one of them ``duplicate key value violates unique constraint "pg_type_typname_nsp_index"``)
or both seed the store. ``rebuild``: one rebuild of the read models at a time.

PostgreSQL: a session advisory lock named after the store's schema, held on a connection
of its own for the duration. SQLite: an exclusive ``flock`` on a file beside the database
(the database's own locks do not cover a transaction that reads the schema before it
writes: it fails at once with "database is locked" instead of waiting)."""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


class LockHeld(RuntimeError):
    """Another process holds the lock, and the caller would not wait for it."""


@contextmanager
def postgres_lock(url: str, schema: str | None, name: str, wait: bool = True) -> Iterator[None]:
    key = f"okrgov.{name}:{schema or 'public'}"
    with psycopg.connect(url, autocommit=True) as conn:
        if wait:
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
        else:
            row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()
            if not row or not row[0]:
                raise LockHeld(f"another process holds the {name} lock of this store")
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))


@contextmanager
def sqlite_lock(database: Path, name: str, wait: bool = True) -> Iterator[None]:
    lock_path = database.with_name(f"{database.name}.{name}-lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)  # private, like the store
    try:
        if os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(f"another process holds the {name} lock of this store") from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
