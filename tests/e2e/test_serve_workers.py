"""``okrgov serve --workers N``: several server processes on one port and one store. A
client whose requests reach different processes (a new connection each time) still reads
its own writes, in the views its write waited for (shared tables) and in those it did not
(the audit trail: the reading process may not know the caller's last write, so it waits
for the store's head), and stopping the server stops every process."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import httpx
from okr_builders import definition
from processes import Processes, free_port, processes, settings_env

from events import Commitment, Level
from infra.config import Settings
from services.application.principals import Principal
from services.bootstrap import build

OWNER = Principal.of("priya", ["executive"])


def test_each_answer_and_read_shows_the_callers_write_whichever_process_serves_it(
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key="workers-test-secret-of-enough-length-for-hs256!",
        log_level="WARNING",
    )
    platform = build(settings)
    try:
        ledger = platform.ledger
        cycle = ledger.open_cycle(OWNER, "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)).id
        objective = ledger.create_objective(
            OWNER, cycle, "Strengthen operations", "priya", Level.COMPANY, Commitment.COMMITTED
        ).id
        key_result = ledger.add_key_result(OWNER, objective, definition()).id
        token = platform.tokens.create("priya", ["executive"])
    finally:
        platform.close()
    port = free_port()
    with processes(tmp_path) as started:
        env = settings_env(settings)
        server = started.start(
            env, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"
        )
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        _wait_until_it_answers(url, server, started)
        for week in range(20):
            note = f"week {week}"
            # A new connection for each request: the kernel hands it to either process.
            written = httpx.post(
                f"{url}/v1/key-results/{key_result}/check-ins",
                json={"value": week, "confidence": 0.6, "note": note},
                headers=headers,
                timeout=30,
            )
            assert written.status_code == 201, written.text
            assert written.json()["latest_check_in"]["note"] == note
            position = int(written.headers["X-Okrgov-Position"])
            read = httpx.get(f"{url}/v1/key-results/{key_result}", headers=headers, timeout=30)
            assert read.status_code == 200, read.text
            assert read.json()["latest_check_in"]["note"] == note
            assert read.json()["check_in_count"] == week + 1
            # The audit trail, which no write waits for, shows the write all the same.
            trail = httpx.get(
                f"{url}/v1/audit",
                params={"cursor": position - 1, "limit": 1},
                headers=headers,
                timeout=30,
            )
            assert trail.status_code == 200, trail.text
            assert [e["position"] for e in trail.json()["items"]] == [position]
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0, started.output(server)
        assert "serve.worker_stopped" not in started.output(server)


def _wait_until_it_answers(url: str, server: subprocess.Popen[bytes], started: Processes) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert server.poll() is None, started.output(server)
        assert time.monotonic() < deadline, "the server did not answer"
        time.sleep(0.1)
