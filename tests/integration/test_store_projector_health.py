"""A projection worker that follows the store (``okrgov projector --source store``) serves
its views' positions and lag on /healthz and /metrics too, and they follow new events."""

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from kafka_broker import cli_env, wait_until
from postgres_server import free_port
from prometheus_client.parser import text_string_to_metric_families
from quarter import TOM, plan_quarter

from infra.config import Settings
from services.bootstrap import PROJECTIONS, Platform

OKRGOV = str(Path(sys.executable).parent / "okrgov")


def health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
        return dict(json.loads(answer.read()))


def view_positions(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {
        sample.labels["projection"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "okrgov_view_position"
    }


def answers(port: int) -> bool:
    try:
        health(port)
    except OSError:
        return False
    return True


def test_a_store_following_worker_serves_its_positions_and_lag(
    settings: Settings, platform: Platform, tmp_path: Path
) -> None:
    _, _, key_result = plan_quarter(platform)
    port = free_port("127.0.0.1")
    with (tmp_path / "projector.log").open("wb") as out:
        command = [OKRGOV, "projector", "--source", "store", "--metrics-port", str(port)]
        worker = subprocess.Popen(command, env=cli_env(settings), stderr=out)
    try:
        # (The process may record an event of its own on start: its signing key.)
        assert wait_until(lambda: answers(port) and health(port)["lag"]["events"] == 0, 30)
        found = health(port)
        head = platform.ledger.recorder.max_notification_id()
        assert found["head"] == head
        assert found["status"] == "ok" and found["source"] == "store"
        assert found["lag"] == {"events": 0, "seconds": 0}
        assert {p.name for p in PROJECTIONS} <= set(found["projections"])
        assert all(view["position"] == head for view in found["projections"].values())

        for week in range(3):
            platform.ledger.check_in(TOM, key_result.id, 11 + week, 0.6, f"week {week}")
        later = platform.ledger.recorder.max_notification_id()
        assert wait_until(
            lambda: set(view_positions(port).values()) == {later}, timeout=30, interval=0.1
        )
        assert health(port)["lag"]["events"] == 0
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_a_metrics_port_in_use_is_said_in_one_line(settings: Settings, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [OKRGOV, "projector", "--source", "store", "--metrics-port", str(port)]
        refused = subprocess.run(
            command, env=cli_env(settings), capture_output=True, text=True, timeout=120
        )
    assert refused.returncode == 1
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot serve metrics on 127.0.0.1:{port}")
    assert "Traceback" not in refused.stderr
