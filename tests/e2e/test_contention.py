"""Contention is absorbed: sixteen clients checking in on one key result at once, through
two API processes' worth of platforms on one store, all get 201, and every check-in is
recorded once. (A conflict is retried from fresh state within a bounded time; commands on
one aggregate in one process wait for each other instead of racing.)"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from live_server import live_server
from okr_builders import definition

from events import KeyResult
from infra.config import Settings
from services.api import create_app
from services.bootstrap import Platform, build

CLIENTS = 16
CHECK_INS_EACH = 20


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    common = {
        "data_dir": tmp_path,
        "secret_key": "test-secret-of-enough-length-for-hs256",
        "log_level": "WARNING",
    }
    if request.param == "sqlite":
        return Settings(**common)
    pg = request.getfixturevalue("pg_env")
    return Settings(database_url=pg["url"], database_schema=pg["schema"], **common)


@pytest.fixture
def two_platforms(settings: Settings) -> Iterator[tuple[Platform, Platform]]:
    first = build(settings)
    second = build(settings)
    for platform in (first, second):
        platform.start()
    try:
        yield first, second
    finally:
        second.close()
        first.close()


def test_sixteen_clients_on_one_key_result_all_succeed(
    two_platforms: tuple[Platform, Platform],
) -> None:
    first, second = two_platforms
    executive = {"Authorization": f"Bearer {first.tokens.create('priya', ['executive'])}"}
    with live_server(create_app(first)) as one, live_server(create_app(second)) as two:
        with httpx.Client(base_url=one, headers=executive, timeout=30) as http:
            cycle = http.post(
                "/v1/cycles",
                json={"name": "2026-Q4", "starts_on": "2026-10-01", "ends_on": "2026-12-31"},
            ).json()
            objective = http.post(
                "/v1/objectives",
                json={
                    "cycle_id": cycle["id"],
                    "title": "Strengthen our operational infrastructure",
                    "owner": "priya",
                    "level": "company",
                    "commitment": "committed",
                },
            ).json()
            kr = http.post(
                f"/v1/objectives/{objective['id']}/key-results", json=definition()
            ).json()
            assert http.post(f"/v1/cycles/{cycle['id']}/lock").status_code == 200

        def client(n: int) -> list[int]:
            url = one if n % 2 else two
            with httpx.Client(base_url=url, headers=executive, timeout=60) as http:
                return [
                    http.post(
                        f"/v1/key-results/{kr['id']}/check-ins",
                        json={"value": 15 - i / 10, "confidence": 0.5, "note": f"{n}/{i}"},
                    ).status_code
                    for i in range(CHECK_INS_EACH)
                ]

        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = [s for answers in pool.map(client, range(CLIENTS)) for s in answers]

    assert statuses == [201] * (CLIENTS * CHECK_INS_EACH)
    key_result = first.ledger.repository.get(UUID(kr["id"]))
    assert isinstance(key_result, KeyResult)
    notes = [note for _, _, note in key_result.check_ins]
    assert len(notes) == len(set(notes)) == CLIENTS * CHECK_INS_EACH
