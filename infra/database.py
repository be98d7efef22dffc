"""The database setting, parsed once: which backend, and where it is.

``OKRGOV_DATABASE_URL`` (with ``OKRGOV_DATA_DIR`` and ``OKRGOV_DATABASE_SCHEMA``) is read
here and nowhere else; the eventsourcing environment, the store locks and the CloudEvents
``source`` all derive from the one ``Database`` value, so they cannot disagree.

SQLite paths, as SQLite opens them:

* unset: ``<data_dir>/okrgov.sqlite``;
* ``sqlite:////srv/okr/db.sqlite`` (four slashes): the absolute path ``/srv/okr/db.sqlite``;
* ``sqlite:///okr/db.sqlite`` (three slashes): ``okr/db.sqlite`` relative to the working
  directory of the process, like a relative ``data_dir``.

``path`` keeps the path as written (SQLite opens it relative to the working directory);
``resolved`` is the absolute file it names, used where the database is named for other
processes (the CloudEvents ``source``)."""

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlparse

SQLITE_FILE = "okrgov.sqlite"
"""The store's file name in ``data_dir`` when no URL is set."""
POSTGRES_SCHEMES = ("postgres", "postgresql")


class UnsupportedDatabaseUrl(ValueError):
    pass


class Backend(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


@dataclass(frozen=True)
class PostgresAddress:
    """Where a PostgreSQL database is, as the URL gives it (defaults filled in)."""

    host: str
    port: int
    dbname: str
    user: str
    password: str
    schema: str | None
    """The schema to keep the tables in (``OKRGOV_DATABASE_SCHEMA``); None: ``public``."""


@dataclass(frozen=True)
class Database:
    """One parsed database setting: ``sqlite_path`` for SQLite, ``postgres`` (and the URL
    it came from, which psycopg connects with) for PostgreSQL."""

    backend: Backend
    sqlite_path: Path | None = None
    postgres: PostgresAddress | None = None
    url: str | None = None

    @classmethod
    def parse(cls, url: str | None, data_dir: Path, schema: str | None = None) -> "Database":
        """``UnsupportedDatabaseUrl`` for a URL that is neither ``sqlite:`` nor PostgreSQL."""
        if not url:
            return cls(Backend.SQLITE, sqlite_path=data_dir / SQLITE_FILE)
        if url.startswith("sqlite:"):
            return cls(Backend.SQLITE, sqlite_path=_sqlite_path(url), url=url)
        parsed = urlparse(url)
        if not is_postgres_url(url):
            raise UnsupportedDatabaseUrl(
                f"OKRGOV_DATABASE_URL must be sqlite: or postgresql:, not {url}"
            )
        address = PostgresAddress(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            dbname=parsed.path.lstrip("/") or "postgres",
            user=unquote(parsed.username or "postgres"),
            # eventsourcing insists on a password even where the server trusts the client.
            password=unquote(parsed.password or "postgres"),
            schema=schema,
        )
        return cls(Backend.POSTGRESQL, postgres=address, url=url)

    @property
    def is_postgres(self) -> bool:
        return self.backend is Backend.POSTGRESQL

    @property
    def resolved(self) -> Path | None:
        """The absolute SQLite file (None: PostgreSQL)."""
        return self.sqlite_path.resolve() if self.sqlite_path is not None else None

    def source(self) -> str:
        """This database named as a CloudEvents ``source``, without credentials:
        ``okrgov://sqlite/<absolute path>`` or
        ``okrgov://postgresql/<host>:<port>/<dbname>/<schema>``."""
        if self.postgres is not None:
            pg = self.postgres
            return f"okrgov://postgresql/{pg.host}:{pg.port}/{pg.dbname}/{pg.schema or 'public'}"
        assert self.resolved is not None
        return f"okrgov://sqlite/{self.resolved.as_posix().lstrip('/')}"

    def persistence_env(self) -> dict[str, str]:
        """The variables eventsourcing reads to reach this database (pools, timeouts)."""
        if self.postgres is None:
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "10",
            }
        pg = self.postgres
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": pg.dbname,
            "POSTGRES_HOST": pg.host,
            "POSTGRES_PORT": str(pg.port),
            "POSTGRES_USER": pg.user,
            "POSTGRES_PASSWORD": pg.password,
            "POSTGRES_POOL_SIZE": "5",
            "POSTGRES_MAX_OVERFLOW": "10",
        }
        if pg.schema:
            env["POSTGRES_SCHEMA"] = pg.schema
        return env


def is_postgres_url(url: str | None) -> bool:
    """True for a ``postgres:`` or ``postgresql:`` URL; False for anything else, unset or
    not supported alike (a caller that only asks does not fail on it)."""
    return bool(url) and urlparse(url or "").scheme in POSTGRES_SCHEMES


def _sqlite_path(url: str) -> Path:
    """``sqlite:////abs`` -> ``/abs``; ``sqlite:///rel`` -> ``rel``; ``sqlite:`` alone ->
    ``okrgov.sqlite`` in the working directory."""
    rest = url.removeprefix("sqlite:").removeprefix("//").removeprefix("/")
    return Path(rest or SQLITE_FILE)
