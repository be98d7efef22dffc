"""The database setting is parsed once (``infra.database``): the file SQLite opens, the
store lock, the eventsourcing environment and the CloudEvents ``source`` all name the same
database, whatever the working directory."""

from pathlib import Path

import pytest

from infra import stream_envelope
from infra.config import Settings
from infra.database import Backend, Database, UnsupportedDatabaseUrl
from infra.persistence import eventsourcing_env, is_postgres, sqlite_file


def test_four_slashes_is_an_absolute_path_from_any_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir("/tmp")
    settings = Settings(database_url="sqlite:////srv/okr/db.sqlite")
    assert settings.database.backend is Backend.SQLITE
    assert sqlite_file(settings) == Path("/srv/okr/db.sqlite")
    assert settings.database.resolved == Path("/srv/okr/db.sqlite")
    assert stream_envelope.event_source(settings) == "okrgov://sqlite/srv/okr/db.sqlite"


def test_three_slashes_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(database_url="sqlite:///okr/db.sqlite")
    assert sqlite_file(settings) == Path("okr/db.sqlite")
    assert settings.database.resolved == tmp_path.resolve() / "okr" / "db.sqlite"
    assert (
        stream_envelope.event_source(settings)
        == f"okrgov://sqlite{tmp_path.resolve()}/okr/db.sqlite"
    )
    env = eventsourcing_env(settings)  # creates the file 0600, where SQLite will open it
    assert env["SQLITE_DBNAME"] == "okr/db.sqlite"
    assert (tmp_path / "okr" / "db.sqlite").exists()


def test_unset_is_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    assert sqlite_file(settings) == tmp_path / "var" / "okrgov.sqlite"
    assert stream_envelope.event_source(settings) == (
        f"okrgov://sqlite{(tmp_path / 'var' / 'okrgov.sqlite').resolve()}"
    )
    assert not is_postgres(settings)


def test_postgresql_is_parsed_once_for_the_env_and_the_source() -> None:
    settings = Settings(
        database_url="postgresql://app%40x:p%2Fw@db.internal:6543/okr", database_schema="prod"
    )
    database = settings.database
    assert is_postgres(settings) and sqlite_file(settings) is None
    assert database.persistence_env() == {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": "okr",
        "POSTGRES_HOST": "db.internal",
        "POSTGRES_PORT": "6543",
        "POSTGRES_USER": "app@x",
        "POSTGRES_PASSWORD": "p/w",
        "POSTGRES_POOL_SIZE": "5",
        "POSTGRES_MAX_OVERFLOW": "10",
        "POSTGRES_SCHEMA": "prod",
    }
    assert stream_envelope.event_source(settings) == "okrgov://postgresql/db.internal:6543/okr/prod"
    defaults = Database.parse("postgres://", Path("var"))
    assert defaults.source() == "okrgov://postgresql/127.0.0.1:5432/postgres/public"


def test_another_scheme_is_refused() -> None:
    with pytest.raises(UnsupportedDatabaseUrl, match="sqlite: or postgresql:"):
        Database.parse("mysql://db/okr", Path("var"))
    assert not is_postgres(Settings(database_url="mysql://db/okr"))  # asking does not fail
