"""Persistence wiring: the eventsourcing environment and the store locks, both derived
from the one parsed database setting (``Settings.database``, ``infra.database``)."""

from contextlib import AbstractContextManager
from pathlib import Path

from infra.config import Settings
from infra.database import is_postgres_url
from infra.private_files import private_sqlite_store
from infra.store_locks import postgres_lock, sqlite_lock

#: The largest event position (notification id) either backend can store: both keep it in
#: a 64-bit signed integer. Every position a client may send is bounded by it.
MAX_POSITION = 2**63 - 1


def is_postgres(settings: Settings) -> bool:
    """True when the settings name PostgreSQL; never raises (an unsupported URL is not)."""
    return is_postgres_url(settings.database_url)


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    """The variables eventsourcing reads: the database's (``Database.persistence_env``)
    and the application's cache and table creation. A SQLite store file is created 0600
    here, before SQLite would create it readable by others."""
    database = settings.database
    if database.sqlite_path is not None:
        private_sqlite_store(database.sqlite_path)  # 0600, and so its -wal and -shm files
    return {
        "AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache_size),
        "AGGREGATE_CACHE_FASTFORWARD": "y",
        "CREATE_TABLE": "y" if settings.create_tables else "n",
        **database.persistence_env(),
    }


def sqlite_file(settings: Settings) -> Path | None:
    """The SQLite file the settings name (None: they name PostgreSQL)."""
    return settings.database.sqlite_path


def store_lock(settings: Settings, name: str, wait: bool = True) -> AbstractContextManager[None]:
    """A lock on the store held across processes (``infra.store_locks``): ``setup`` while
    a process creates tables, installs triggers and seeds; ``rebuild`` while the read
    models are rebuilt. ``wait=False`` raises ``LockHeld`` at once when it is taken."""
    database = settings.database
    path = database.sqlite_path
    if path is None:
        assert database.url is not None and database.postgres is not None
        return postgres_lock(database.url, database.postgres.schema, name, wait)
    private_sqlite_store(path)  # its directory, if okrgov makes it, is private too
    return sqlite_lock(path, name, wait)
