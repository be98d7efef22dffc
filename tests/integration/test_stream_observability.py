"""The stream is observable: a real relay process and a real projection worker process
serve their positions and lag on /metrics and /healthz, the figures move as events are
recorded and applied, the log warns once when lag passes the threshold (and once when it
is over) and when the broker stalls; ``okrgov stream status`` and ``okrgov projections
compare`` read the same from the databases, as a person runs them."""

import json
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from kafka_broker import Broker, cli_env, tansu_broker, wait_until
from postgres_server import free_port
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql
from quarter import TOM, plan_quarter
from stream_support import FAST_GROUP, SIGNING_KEY, workers_database

from infra.config import Settings
from infra.stored_events import StoredEvents
from services.bootstrap import build
from services.workers.stream_health import partition_of

pytestmark = pytest.mark.kafka
OKRGOV = str(Path(sys.executable).parent / "okrgov")
PARTITIONS = 3


def on_stream(settings: Settings, broker: Broker, topic: str) -> Settings:
    return settings.model_copy(
        update={
            "kafka_bootstrap": broker.bootstrap,
            "kafka_topic": topic,
            "kafka_partitions": PARTITIONS,
            "kafka_group": f"g-{topic}",
            "event_source": f"okrgov://test/{topic}",
            "signing_key": SIGNING_KEY,
            "lag_warn_seconds": 1.0,
            "stall_warn_seconds": 1.0,
            "log_level": "INFO",
            **FAST_GROUP,
        }
    )


@pytest.fixture
def worker_settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    yield from workers_database(settings, tmp_path)


def location(settings: Settings, flag: str) -> list[str]:
    """``--<flag>-url``/``--<flag>-schema`` naming the database of ``settings``."""
    if settings.database_url:
        return [
            f"--{flag}-url",
            settings.database_url,
            f"--{flag}-schema",
            str(settings.database_schema),
        ]
    return [f"--{flag}-url", f"sqlite:///{(settings.data_dir / 'okrgov.sqlite').resolve()}"]


def health(port: int) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return dict(json.loads(answer.read()))
    except urllib.error.HTTPError as error:
        return dict(json.loads(error.read()))


def metrics(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by name and labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: dict[tuple[str, Any], float], name: str) -> float:
    return sum(value for (found, _), value in samples.items() if found == name)


def answers(port: int) -> bool:
    try:
        health(port)
    except OSError:
        return False
    return True


def log_events(log: Path, event: str) -> list[dict[str, Any]]:
    found = []
    for line in log.read_text().splitlines():
        if line.startswith("{") and f'"{event}"' in line:
            entry = json.loads(line)
            if entry.get("event") == event:
                found.append(entry)
    return found


@contextmanager
def writes_blocked(settings: Settings) -> Iterator[None]:
    """Hold the worker's okr_state view still: its batches wait, its reads go on."""
    if settings.database_url:
        with psycopg.connect(settings.database_url) as conn:
            table = sql.Identifier(str(settings.database_schema), "okr_state_docs")
            conn.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
            yield
            conn.rollback()
        return
    conn = sqlite3.connect(settings.data_dir / "okrgov.sqlite", isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")  # the write lock; WAL readers carry on
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def okrgov(*args: str, settings: Settings) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OKRGOV, *args], env=cli_env(settings), capture_output=True, text=True, timeout=120
    )


def test_relay_and_worker_serve_their_positions_and_lag_and_the_commands_agree(
    settings: Settings, worker_settings: Settings, kafka_broker: Broker, tmp_path: Path
) -> None:
    topic = f"okrgov.events.{uuid.uuid4().hex[:8]}"
    store = on_stream(settings, kafka_broker, topic)
    workers = on_stream(worker_settings, kafka_broker, topic)
    platform = build(store)
    relay_port, worker_port = free_port("127.0.0.1"), free_port("127.0.0.1")
    relay_log, worker_log = tmp_path / "relay.log", tmp_path / "worker.log"
    running: list[subprocess.Popen[bytes]] = []
    try:
        _, _, key_result = plan_quarter(platform)
        head = platform.ledger.recorder.max_notification_id()
        with relay_log.open("wb") as out:
            command = [OKRGOV, "relay", "--poll-seconds", "0.05", "--metrics-port", str(relay_port)]
            running.append(subprocess.Popen(command, env=cli_env(store), stderr=out))
        with worker_log.open("wb") as out:
            command = [OKRGOV, "projector", "--source", "kafka", "--metrics-port", str(worker_port)]
            command += location(store, "store")  # lag counted against the store itself
            running.append(subprocess.Popen(command, env=cli_env(workers), stderr=out))
        assert wait_until(lambda: answers(relay_port) and answers(worker_port), timeout=30)

        # Caught up: the relay at the head, every partition of the worker applied.
        assert wait_until(lambda: health(relay_port)["position"] == head, timeout=30)
        relay = health(relay_port)
        assert relay["status"] == "ok" and relay["head"] == head
        assert relay["lag"] == {"events": 0, "seconds": 0} and relay["broker_reachable"]

        def worker_caught_up() -> bool:
            found = health(worker_port)
            return found["lag"]["events"] == 0 and all(
                p["assigned"] and p["lag_records"] == 0 for p in found["partitions"].values()
            )

        assert wait_until(worker_caught_up, timeout=45), health(worker_port)
        worker = health(worker_port)
        assert worker["status"] == "ok" and worker["head"] == head
        assert worker["lag_against"] == "store" and worker["applied"] >= 1
        assert set(worker["partitions"]) == {str(p) for p in range(PARTITIONS)}
        samples = metrics(relay_port)
        assert samples[("okrgov_relay_position", ())] == head
        assert samples[("okrgov_store_head_position", ())] == head
        assert samples[("okrgov_relay_lag_events", ())] == 0
        assert samples[("okrgov_relay_broker_reachable", ())] == 1
        assert samples[("okrgov_relay_published_events_total", ())] >= head
        samples = metrics(worker_port)
        assert total(samples, "okrgov_projector_lag_events") == 0
        positions = {
            labels: value
            for (name, labels), value in samples.items()
            if name == "okrgov_projector_position"
        }
        assert max(positions.values()) == head  # some partition holds the last event
        assert len(positions) == 3 * PARTITIONS  # every projection, every partition

        status = okrgov("stream", "status", "--json", *location(workers, "views"), settings=store)
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["head"] == head and report["relay"]["position"] == head
        assert all(row["lag"]["events"] == 0 for row in report["projections"])
        compared = okrgov("projections", "compare", *location(workers, "views"), settings=store)
        assert compared.returncode == 0, compared.stdout + compared.stderr
        assert "0 differences" in compared.stdout

        # The worker's okr_state view held still: the relay moves on, the worker's lag grows.
        # (Joining the group may have made it lag once already, at the start.)
        warned = len(log_events(worker_log, "stream.lagging"))
        with writes_blocked(workers):
            for week in range(5):
                platform.ledger.check_in(TOM, key_result.id, 14 - week, 0.7, f"week {week}")
            later = platform.ledger.recorder.max_notification_id()
            assert wait_until(lambda: health(relay_port)["position"] == later, timeout=30)
            assert health(relay_port)["lag"]["events"] == 0
            assert wait_until(lambda: health(worker_port)["lag"]["seconds"] > 1.0, timeout=30)
            lagging = health(worker_port)
            assert lagging["status"] == "degraded"
            # The key result's partition waits for all its new events (the first of them
            # is the first check-in, held); others may have applied theirs before.
            rows = StoredEvents(platform.ledger.recorder).rows(after=head)
            partitions = [partition_of(row.originator_id or "", PARTITIONS) for row in rows]
            held = partition_of(str(key_result.id), PARTITIONS)
            assert lagging["partitions"][str(held)]["lag"]["events"] == partitions.count(held)
            # Kafka's own view agrees: records past the group's committed offset wait there.
            assert lagging["partitions"][str(held)]["lag_records"] > 0
            assert 5 <= lagging["lag"]["events"] <= later - head
            samples = metrics(worker_port)
            assert total(samples, "okrgov_projector_lag_events") == lagging["lag"]["events"]
            status = okrgov("stream", "status", *location(workers, "views"), settings=store)
            assert status.returncode == 1
            assert "LAGGING" in status.stderr and "okr_state/" in status.stderr
            assert len(status.stderr.strip().splitlines()) == 1
        assert wait_until(lambda: health(worker_port)["lag"]["events"] == 0, timeout=45)
        assert wait_until(lambda: health(worker_port)["status"] == "ok", timeout=10)
        status = okrgov("stream", "status", *location(workers, "views"), settings=store)
        assert status.returncode == 0, status.stdout + status.stderr

        # One warning when the lag passed the threshold, one when it was back under.
        assert len(log_events(worker_log, "stream.lagging")) == warned + 1
        recovered = log_events(worker_log, "stream.lag_recovered")
        assert len(recovered) == warned + 1 and recovered[-1]["lasted_seconds"] > 0

        # A row the worker holds that the store does not say: compare finds it.
        compared = okrgov(
            "projections", "compare", "--wait", "30", *location(workers, "views"), settings=store
        )
        assert compared.returncode == 0, compared.stdout + compared.stderr
        alter(workers, str(key_result.id))
        compared = okrgov("projections", "compare", *location(workers, "views"), settings=store)
        assert compared.returncode == 1
        assert f"different docs key_result {key_result.id}" in compared.stdout
        assert "DIFFERENT" in compared.stderr
    finally:
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        platform.close()


def alter(settings: Settings, key_result: str) -> None:
    """Change the worker's document of one key result behind its back."""
    update = "UPDATE {} SET doc = replace(doc, '\"check_in_count\":', '\"check_in_count\":9') "
    if settings.database_url:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            table = sql.Identifier(str(settings.database_schema), "okr_state_docs")
            changed = conn.execute(
                sql.SQL(update + "WHERE kind = 'key_result' AND id = %s").format(table),
                (key_result,),
            ).rowcount
    else:
        with sqlite3.connect(settings.data_dir / "okrgov.sqlite") as conn:
            changed = conn.execute(
                update.format("okr_state_docs") + "WHERE kind = 'key_result' AND id = ?",
                (key_result,),
            ).rowcount
    assert changed == 1


def test_the_relay_warns_once_when_the_broker_stalls_and_once_when_it_recovers(
    tmp_path: Path,
) -> None:
    topic = f"okrgov.events.{uuid.uuid4().hex[:8]}"
    with tansu_broker() as broker:
        base = Settings(
            data_dir=tmp_path,
            secret_key="test-secret-of-enough-length-for-hs256",
            log_level="WARNING",
        )
        store = on_stream(base, broker, topic)
        platform = build(store)
        port = free_port("127.0.0.1")
        log = tmp_path / "relay.log"
        with log.open("wb") as out:
            command = [OKRGOV, "relay", "--poll-seconds", "0.05", "--metrics-port", str(port)]
            relay = subprocess.Popen(command, env=cli_env(store), stderr=out)
        try:
            _, _, key_result = plan_quarter(platform)
            head = platform.ledger.recorder.max_notification_id()
            assert wait_until(lambda: answers(port) and health(port)["position"] == head, 30)

            # (A slow first connection may have made it lag once already, at the start.)
            warned = len(log_events(log, "stream.lagging"))
            broker.pause()
            try:
                for week in range(3):
                    platform.ledger.check_in(TOM, key_result.id, 10 + week, 0.6, f"w{week}")
                later = platform.ledger.recorder.max_notification_id()
                assert wait_until(lambda: not health(port)["broker_reachable"], timeout=30)
                stalled = health(port)
                assert stalled["status"] == "degraded"
                assert stalled["position"] == head and stalled["lag"]["events"] == later - head
                assert metrics(port)[("okrgov_relay_broker_reachable", ())] == 0
                assert wait_until(lambda: health(port)["lag"]["seconds"] > 1.0, timeout=30)
                [stall] = log_events(log, "relay.broker_stalled")
                assert stall["position"] == head
                assert not log_events(log, "relay.broker_recovered")
            finally:
                broker.resume()
            assert wait_until(lambda: health(port)["position"] == later, timeout=60)
            assert wait_until(lambda: health(port)["status"] == "ok", timeout=10)
            recovered = health(port)
            assert recovered["broker_reachable"] and recovered["lag"]["events"] == 0
            assert recovered["last_flush"] is not None
        finally:
            relay.terminate()
            relay.wait(timeout=30)
            platform.close()
    # Once when it started, once when it ended (with how long), not once per retry.
    assert len(log_events(log, "relay.broker_stalled")) == 1
    [back] = log_events(log, "relay.broker_recovered")
    assert back["stalled_seconds"] >= store.stall_warn_seconds
    # The recovery names the page that had waited: the relay may have read it before all
    # three check-ins were recorded, so it ends past the stall and at most at the last.
    assert head < back["position"] <= later
    assert len(log_events(log, "stream.lagging")) == warned + 1
    assert len(log_events(log, "stream.lag_recovered")) == warned + 1
