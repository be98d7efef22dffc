"""The data directory is 0700 and the SQLite store (with its -wal and -shm files), the
signing key and the token secret are 0600, on a fresh data directory built through
``build(Settings(...))`` and on one an older okrgov left readable by everyone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.config import Settings
from services.bootstrap import Platform, build

STORE = "okrgov.sqlite"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """Umask 0: whatever is private is so because okrgov made it so, not the umask."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def started(data_dir: Path, **settings: str) -> Platform:
    platform = build(Settings(data_dir=data_dir, log_level="WARNING", **settings))  # type: ignore[arg-type]
    platform.catch_up()
    platform.evidence.signing()  # as a signing process: the store's first key is generated
    return platform


def test_a_fresh_data_directory_is_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    platform = started(data_dir)
    try:
        store = data_dir / STORE
        # The store is open in WAL mode: both companions exist while it is.
        assert (data_dir / f"{STORE}-wal").exists() and (data_dir / f"{STORE}-shm").exists()
        assert mode(data_dir) == 0o700
        found = {p.name: mode(p) for p in data_dir.iterdir()}
        assert found == {
            STORE: 0o600,
            f"{STORE}-wal": 0o600,
            f"{STORE}-shm": 0o600,
            f"{STORE}.setup-lock": 0o600,
            "signing_key": 0o600,
            "secret_key": 0o600,
        }
        assert store.stat().st_size > 0  # SQLite took the file okrgov created
    finally:
        platform.close()


def test_an_existing_readable_data_directory_is_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    started(data_dir).close()
    data_dir.chmod(0o755)
    for path in data_dir.iterdir():
        path.chmod(0o644)
    platform = started(data_dir)
    try:
        assert mode(data_dir) == 0o700
        assert {p.name: mode(p) for p in data_dir.iterdir()} == {
            name: 0o600
            for name in (
                STORE,
                f"{STORE}-wal",
                f"{STORE}-shm",
                f"{STORE}.setup-lock",
                "signing_key",
                "secret_key",
            )
        }
    finally:
        platform.close()


def test_a_store_elsewhere_is_private_but_its_directory_is_not_changed(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    fresh = tmp_path / "new" / "stores"
    for directory in (shared, fresh):
        store = directory / "events.sqlite"
        platform = started(tmp_path / "var", database_url=f"sqlite:///{store}")
        try:
            assert mode(store) == 0o600
            assert mode(Path(f"{store}-wal")) == 0o600
        finally:
            platform.close()
    assert mode(shared) == 0o755  # a directory someone chose: not ours to change
    assert mode(fresh) == 0o700  # one okrgov created
