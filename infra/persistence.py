"""Persistence wiring: the eventsourcing environment for SQLite or PostgreSQL."""

from contextlib import AbstractContextManager
from pathlib import Path
from urllib.parse import unquote, urlparse

from infra.config import Settings
from infra.private_files import private_sqlite_store
from infra.store_locks import postgres_lock, sqlite_lock

#: The largest event position (notification id) either backend can store: both keep it in
#: a 64-bit signed integer. Every position a client may send is bounded by it.
MAX_POSITION = 2**63 - 1


class UnsupportedDatabaseUrl(ValueError):
    pass


def is_postgres(settings: Settings) -> bool:
    return bool(settings.database_url) and urlparse(settings.database_url or "").scheme in (
        "postgres",
        "postgresql",
    )


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    """Translate OKRGOV_DATABASE_URL into the variables eventsourcing reads."""
    env = {
        "AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache_size),
        "AGGREGATE_CACHE_FASTFORWARD": "y",
        "CREATE_TABLE": "y" if settings.create_tables else "n",
    }
    url = settings.database_url
    if not url or url.startswith("sqlite:"):
        path = _sqlite_path(url, settings.data_dir)
        private_sqlite_store(path)  # 0600, and so its -wal and -shm files
        env.update(
            PERSISTENCE_MODULE="eventsourcing.sqlite",
            SQLITE_DBNAME=str(path),
            SQLITE_LOCK_TIMEOUT="10",
        )
        return env
    if not is_postgres(settings):
        raise UnsupportedDatabaseUrl(
            f"OKRGOV_DATABASE_URL must be sqlite: or postgresql:, not {url}"
        )
    parsed = urlparse(url)
    env.update(
        PERSISTENCE_MODULE="eventsourcing.postgres",
        POSTGRES_DBNAME=parsed.path.lstrip("/") or "postgres",
        POSTGRES_HOST=parsed.hostname or "127.0.0.1",
        POSTGRES_PORT=str(parsed.port or 5432),
        POSTGRES_USER=unquote(parsed.username or "postgres"),
        # eventsourcing insists on a password even where the server trusts the client.
        POSTGRES_PASSWORD=unquote(parsed.password or "postgres"),
        POSTGRES_POOL_SIZE="5",
        POSTGRES_MAX_OVERFLOW="10",
    )
    if settings.database_schema:
        env["POSTGRES_SCHEMA"] = settings.database_schema
    return env


def sqlite_file(settings: Settings) -> Path | None:
    """The SQLite file the settings name (None: they name PostgreSQL)."""
    return None if is_postgres(settings) else _sqlite_path(settings.database_url, settings.data_dir)


def _sqlite_path(url: str | None, data_dir: Path) -> Path:
    if not url:
        return data_dir / "okrgov.sqlite"
    # sqlite:///relative/path or sqlite:////absolute/path
    return Path(url.removeprefix("sqlite:").removeprefix("//").removeprefix("/") or "okrgov.sqlite")


def store_lock(settings: Settings, name: str, wait: bool = True) -> AbstractContextManager[None]:
    """A lock on the store held across processes (``infra.store_locks``): ``setup`` while
    a process creates tables, installs triggers and seeds; ``rebuild`` while the read
    models are rebuilt. ``wait=False`` raises ``LockHeld`` at once when it is taken."""
    path = sqlite_file(settings)
    if path is None:
        assert settings.database_url is not None
        return postgres_lock(settings.database_url, settings.database_schema, name, wait)
    private_sqlite_store(path)  # its directory, if okrgov makes it, is private too
    return sqlite_lock(path, name, wait)
