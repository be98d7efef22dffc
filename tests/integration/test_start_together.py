"""Processes started together on a fresh database all come up: one at a time creates the
tables, installs the triggers and seeds the store (PostgreSQL would otherwise fail one of
them with a duplicate key in ``pg_type_typname_nsp_index``), and the store is seeded once."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from processes import processes, settings_env

from infra.config import Settings
from projections.governance import POLICY
from services.bootstrap import PROJECTIONS, build

SERVERS = 3
FOLLOWERS = 2


def test_servers_and_followers_started_together_on_a_fresh_store(
    settings: Settings, tmp_path: Path
) -> None:
    env = settings_env(settings, OKRGOV_PROJECTION_POLL_SECONDS="0.05")
    with processes(tmp_path) as started:
        followers = [started.start(env, "projections", "run") for _ in range(FOLLOWERS)]
        urls = started.serve_many(env, SERVERS)
        for url in urls:
            assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        time.sleep(0.5)  # the followers' first polls after setting up
        for follower in followers:
            assert follower.poll() is None, started.output(follower)
    platform = build(settings)
    try:
        platform.catch_up()
        # The shipped policy is version 1, seeded once, whoever got there first.
        assert [p["number"] for p in platform.governance.find(POLICY)] == [1]
        head = platform.ledger.recorder.max_notification_id()
        for projection in PROJECTIONS:
            assert platform.followers[projection.name].view.position() == head
    finally:
        platform.close()
