"""Each integration test runs on both backends: a SQLite file and a PostgreSQL schema."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.config import Settings
from services.bootstrap import Platform, build


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return Settings(
            data_dir=tmp_path,
            secret_key="test-secret-of-enough-length-for-hs256",
            log_level="WARNING",
        )
    pg = request.getfixturevalue("pg_env")
    return Settings(
        database_url=pg["url"],
        database_schema=pg["schema"],
        data_dir=tmp_path,
        secret_key="test-secret-of-enough-length-for-hs256",
        log_level="WARNING",
    )


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    platform = build(settings)
    yield platform
    platform.close()
