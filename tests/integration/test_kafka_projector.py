"""Projection workers fed from Kafka (tansu) build the same read models as the projections
that follow the store, row for row: two workers sharing a consumer group, a worker killed
mid-run, and records delivered twice."""

import json
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from kafka import KafkaProducer
from kafka_broker import Broker, cli_env, read_topic, wait_until
from quarter import TOM, plan_quarter, record_governed_quarter
from stream_support import (
    PARTITIONS,
    differing,
    kill_left,
    on_stream,
    rows,
    stop_cleanly,
    store_views,
    worker_views,
    workers_database,
)

from infra.config import Settings
from infra.stored_events import StoredEvents
from services.bootstrap import PROJECTIONS, build
from services.workers.kafka_source import KafkaSource, apply_new, tracking_name
from services.workers.projector import build_kafka_source
from services.workers.relay import build_relay

pytestmark = pytest.mark.kafka
OKRGOV = str(Path(sys.executable).parent / "okrgov")
CHECK_INS = 150


@pytest.fixture
def worker_settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    yield from workers_database(settings, tmp_path)


def start_worker(settings: Settings, log: IO[bytes], batch_size: int) -> subprocess.Popen[bytes]:
    command = [OKRGOV, "projector", "--source", "kafka", "--batch-size", str(batch_size)]
    return subprocess.Popen(command, env=cli_env(settings), stderr=log)


def assignments(log: Path) -> list[set[int]]:
    """The partitions each ``projector.assigned`` line of a worker's log gave it."""
    found = []
    for line in log.read_text().splitlines():
        if line.startswith("{") and '"projector.assigned"' in line:
            found.append(set(json.loads(line)["partitions"]))
    return found


def test_two_workers_in_one_group_build_the_read_models_of_the_store(
    settings: Settings, worker_settings: Settings, kafka_broker: Broker, tmp_path: Path
) -> None:
    topic, group = f"okrgov.events.{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    store = on_stream(settings, kafka_broker, topic, group)
    workers = on_stream(worker_settings, kafka_broker, topic, group).model_copy(
        update={"log_level": "INFO"}
    )
    platform = build(store)
    relay = build_relay(store, page_size=50)
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    running: list[subprocess.Popen[bytes]] = []
    try:
        record_governed_quarter(platform)
        relay.catch_up()
        for log in logs:
            with log.open("wb") as out:
                running.append(start_worker(workers, out, batch_size=7))
        views = worker_views(workers)
        expected = store_views(platform)
        assert wait_until(lambda: not differing(expected, views), timeout=45, interval=0.2), (
            f"views differ from the store's: {differing(expected, views)}"
        )

        # Live: what is recorded while the workers run reaches them too.
        _, _, key_result = plan_quarter(platform)
        for week in range(5):
            platform.ledger.check_in(TOM, key_result.id, 14 - week, 0.7, f"next {week}")
        relay.catch_up()
        expected = store_views(platform)
        assert wait_until(lambda: not differing(expected, views), timeout=30, interval=0.2), (
            f"views differ from the store's: {differing(expected, views)}"
        )
        for name, view in views.items():
            assert rows(view) == expected[name], name

        stop_cleanly(running)
    finally:
        kill_left(running)
        relay.close()
        platform.close()

    # The group shared the partitions: each worker's last assignment is its own half.
    last = [assignments(log)[-1] for log in logs]
    assert all(last), f"a worker never held a partition: {last}"
    assert not last[0] & last[1] and last[0] | last[1] == set(range(PARTITIONS))
    # Each partition is tracked on its own, for every projection.
    names = {tracking_name(p.name, topic, n) for p in PROJECTIONS for n in range(PARTITIONS)}
    for name in names:
        projection = name.split("@")[0]
        assert views[projection].max_tracking_id(name), f"{name} never tracked"


def test_a_killed_worker_resumes_without_missing_or_repeating(
    tmp_path: Path, kafka_broker: Broker
) -> None:
    topic, group = f"okrgov.events.{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    base = Settings(
        data_dir=tmp_path / "store",
        secret_key="test-secret-of-enough-length-for-hs256",
        log_level="WARNING",
    )
    store = on_stream(base, kafka_broker, topic, group)
    # A shorter session: the restarted worker's join waits for the killed one to expire.
    workers = store.model_copy(
        update={
            "data_dir": tmp_path / "workers",
            "log_level": "INFO",
            "kafka_session_timeout_ms": 3000,
        }
    )
    platform = build(store)
    relay = build_relay(store)
    try:
        _, _, key_result = plan_quarter(platform)
        for week in range(CHECK_INS):
            platform.ledger.check_in(TOM, key_result.id, 15 - week % 7, 0.5, f"check-in {week}")
        relay.catch_up()
        expected = store_views(platform)
    finally:
        relay.close()
        platform.close()
    views = worker_views(workers)
    okr_state = views["okr_state"]

    def progress() -> int:
        return max(
            okr_state.max_tracking_id(tracking_name("okr_state", topic, n)) or 0
            for n in range(PARTITIONS)
        )

    with (tmp_path / "first.log").open("wb") as out:
        first = start_worker(workers, out, batch_size=5)
    try:
        assert wait_until(lambda: progress() > 0, timeout=30, interval=0.005)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    killed_at = progress()
    assert killed_at > 0 and differing(expected, views), "the worker was not killed mid-run"

    with (tmp_path / "second.log").open("wb") as out:
        second = start_worker(workers, out, batch_size=500)
    try:
        assert wait_until(lambda: not differing(expected, views), timeout=45, interval=0.2), (
            f"views differ from the store's: {differing(expected, views)}"
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    doc = okr_state.get("key_result", str(key_result.id))
    assert doc is not None and doc["check_in_count"] == CHECK_INS  # a repeat would count more
    for name, view in views.items():
        assert rows(view) == expected[name], name


def test_records_delivered_twice_are_dropped_by_position(
    tmp_path: Path, kafka_broker: Broker
) -> None:
    topic = f"okrgov.events.{uuid.uuid4().hex[:8]}"
    base = Settings(
        data_dir=tmp_path / "store",
        secret_key="test-secret-of-enough-length-for-hs256",
        log_level="WARNING",
    )
    store = on_stream(base, kafka_broker, topic, f"g-{uuid.uuid4().hex[:8]}")
    workers = store.model_copy(update={"data_dir": tmp_path / "workers"})
    platform = build(store)
    relay = build_relay(store)
    try:
        record_governed_quarter(platform)
        relay.catch_up()
        expected = store_views(platform)
        total = len(list(StoredEvents(platform.ledger.recorder).rows()))
    finally:
        relay.close()
        platform.close()

    def drain(source: KafkaSource, until: Any) -> None:
        assert wait_until(lambda: source.poll_once(200) >= 0 and until(), timeout=30, interval=0)

    first = build_kafka_source(workers)
    views = {t.projection.name: t.view for t in first.targets}
    try:
        drain(first, lambda: not differing(expected, views))
        assert first.applied == total and first.dropped == 0

        # The relay's at-least-once: a page sent again after a crash, as it was.
        again = read_topic(kafka_broker.bootstrap, topic)[-12:]
        producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap)
        for record in again:
            producer.send(topic, key=record.key, value=record.value, headers=record.headers)
        producer.flush()
        producer.close()
        drain(first, lambda: first.dropped == len(again))
        assert first.applied == total
    finally:
        first.close()

    # Another group reads the topic from the start into the same views: all duplicates.
    other = build_kafka_source(
        workers.model_copy(update={"kafka_group": f"g-{uuid.uuid4().hex[:8]}"})
    )
    try:
        drain(other, lambda: other.dropped == total + len(again))
        assert other.applied == 0
    finally:
        other.close()
    for name, view in views.items():
        assert rows(view) == expected[name], name


def test_a_batch_applies_each_position_once_even_from_racing_workers(
    settings: Settings, worker_settings: Settings
) -> None:
    """``apply_new`` drops a duplicate run inside a batch, and two workers applying
    overlapping batches of one partition at once (a worker that lost the partition in a
    rebalance, finishing its batch) apply every event once: the lock on the tracking name
    makes the second wait and then see the first's position."""
    platform = build(settings)
    try:
        _, _, key_result = plan_quarter(platform)
        for week in range(60):
            platform.ledger.check_in(TOM, key_result.id, 15 - week % 7, 0.5, f"check-in {week}")
        recorder, mapper = platform.ledger.recorder, platform.ledger.mapper
        events = [
            (n.id, mapper.to_domain_event(n))
            for n in recorder.select_notifications(start=1, limit=10_000)
        ]
        expected = store_views(platform)["okr_state"]
    finally:
        platform.close()
    view = worker_views(worker_settings)["okr_state"]
    projection = next(p() for p in PROJECTIONS if p.name == "okr_state")
    name = tracking_name("okr_state", "t", 0)

    half = len(events) // 2
    assert apply_new(view, projection, name, events[:half] + events[half - 10 : half + 5]) == [
        position for position, _ in events[: half + 5]
    ]
    assert apply_new(view, projection, name, events[:half]) == []

    results: list[list[int]] = []
    batches = [events[: half + 20], events[: len(events) - 5], events]
    threads = [
        threading.Thread(target=lambda b=b: results.append(apply_new(view, projection, name, b)))
        for b in batches
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    applied = sorted(p for taken in results for p in taken)
    assert applied == [position for position, _ in events[half + 5 :]]
    assert rows(view) == expected
