"""End-to-end fixtures: a started Platform over a fresh SQLite data directory, the API
in front of it, and bearer tokens for any user and roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from okr_builders import definition

from infra.config import Settings
from services.api import create_app
from services.bootstrap import Platform, build

AuthHeaders = Callable[..., dict[str, str]]


@pytest.fixture
def cli_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment a command line run reads its settings from: a fresh data
    directory (returned), a signing secret, warnings only in the logs."""
    monkeypatch.setenv("OKRGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OKRGOV_SECRET_KEY", "cli-test-secret-of-enough-length-for-hs256!")
    monkeypatch.setenv("OKRGOV_LOG_LEVEL", "WARNING")
    return tmp_path


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    platform = build(
        Settings(data_dir=tmp_path, secret_key="test-secret-of-enough-length-for-hs256")
    )
    platform.start()
    try:
        yield platform
    finally:
        platform.close()


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(platform)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


#: The people the tests act as, issued their tokens before a test starts, so that a test
#: counting what a request recorded does not count the issuing of a token.
CAST = (
    ("priya", "executive"),
    ("tom", "member"),
    ("lena", "member"),
    ("marcus", "compliance"),
    ("ana", "risk_officer"),
    ("omar", "risk_officer"),
    ("sam", "admin"),
    ("both", "compliance", "risk_officer"),
)


@pytest.fixture
def auth(platform: Platform) -> AuthHeaders:
    """``auth("tom", "member")``: the Authorization header of a token for those roles
    (issued on the record once per user and roles)."""
    issued: dict[tuple[str, ...], str] = {}

    def headers(user: str, *roles: str) -> dict[str, str]:
        key = (user, *sorted(roles))
        if key not in issued:
            issued[key] = platform.tokens.create(user, list(roles))
        return {"Authorization": f"Bearer {issued[key]}"}

    for who in CAST:
        headers(*who)
    return headers


PRIYA = ("priya", "executive")
TOM = ("tom", "member")


@pytest.fixture
def world(client: TestClient, auth: AuthHeaders) -> dict[str, str]:
    """Through the API: cycle 2026-Q4 in planning, Priya's company objective, and Tom's
    key result "LP reporting turnaround" (15 -> 8 days) under it. Returns their ids."""
    exec_ = auth(*PRIYA)
    cycle = client.post(
        "/v1/cycles",
        json={"name": "2026-Q4", "starts_on": "2026-10-01", "ends_on": "2026-12-31"},
        headers=exec_,
    )
    assert cycle.status_code == 201, cycle.text
    objective = client.post(
        "/v1/objectives",
        json={
            "cycle_id": cycle.json()["id"],
            "title": "Strengthen our operational infrastructure",
            "owner": "priya",
            "level": "company",
            "commitment": "committed",
        },
        headers=exec_,
    )
    assert objective.status_code == 201, objective.text
    key_result = client.post(
        f"/v1/objectives/{objective.json()['id']}/key-results",
        json=definition(),
        headers=exec_,
    )
    assert key_result.status_code == 201, key_result.text
    return {
        "cycle": cycle.json()["id"],
        "objective": objective.json()["id"],
        "key_result": key_result.json()["id"],
    }


@pytest.fixture
def locked_world(client: TestClient, auth: AuthHeaders, world: dict[str, str]) -> dict[str, str]:
    """``world`` after Priya locked the cycle."""
    locked = client.post(f"/v1/cycles/{world['cycle']}/lock", headers=auth(*PRIYA))
    assert locked.status_code == 200, locked.text
    return world
