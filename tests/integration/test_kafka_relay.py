"""The relay against a real Kafka-protocol broker (tansu): every event reaches the topic as
a CloudEvent, per aggregate in store order; a relay killed mid-stream resumes without a
gap; a broker frozen during publishing loses nothing; after a broker restart (an empty
broker: tansu keeps topics in memory) the relay publishes from its own position on."""

import json
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kafka import KafkaConsumer
from kafka_broker import Broker, cli_env, read_topic, tansu_broker, wait_until
from okr_builders import definition
from quarter import EXEC, TOM, plan_quarter
from stream_support import SIGNING_KEY

from infra import stream_envelope
from infra.config import Settings
from infra.merkle import leaf_hash
from infra.signing import encode_private_key
from infra.stored_events import StoredEvents, StoredRow
from infra.stream_keys import trusted_keys
from services.bootstrap import Platform, build
from services.workers.relay import build_relay

pytestmark = pytest.mark.kafka
OKRGOV = str(Path(sys.executable).parent / "okrgov")
PARTITIONS = 3  # not tansu's default of 4: shows the relay created the topic itself


@pytest.fixture
def own_broker(kafka_broker: Broker) -> Iterator[Broker]:
    """A broker of the test's own, to freeze or restart. Asking for the session's broker
    first makes a missing one skip the test (fail it in CI) like every Kafka test."""
    with tansu_broker() as broker:
        yield broker


def stream_settings(settings: Settings, broker: Broker) -> Settings:
    return settings.model_copy(
        update={
            "kafka_bootstrap": broker.bootstrap,
            "kafka_topic": f"okrgov.events.{uuid.uuid4().hex[:8]}",
            "kafka_partitions": PARTITIONS,
            "signing_key": SIGNING_KEY,  # the relay signs every record with the store's key
        }
    )


def topics(broker: Broker) -> set[str]:
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    try:
        return set(consumer.topics())
    finally:
        consumer.close()


def check_ins(platform: Platform, n: int, key_results: list[Any]) -> None:
    for week in range(n):
        key_result = key_results[week % len(key_results)]
        platform.ledger.check_in(TOM, key_result, 15 - week % 7, 0.5, f"check-in {week}")


def quarter_with_two_key_results(platform: Platform) -> list[Any]:
    _, objective, key_result = plan_quarter(platform)
    other = platform.ledger.add_key_result(
        EXEC, objective.id, definition(title="Fund admin errors", unit="errors")
    )
    return [key_result.id, other.id]


def store_rows(platform: Platform) -> list[StoredRow]:
    return list(StoredEvents(platform.ledger.recorder).rows())


def first_deliveries(records: Iterable[Any]) -> dict[int, list[int]]:
    """Per partition, the positions a consumer applies when it drops every record whose
    position is not above the last one it applied from that partition."""
    applied: dict[int, list[int]] = defaultdict(list)
    for record in records:
        position = stream_envelope.decode(record.value).position
        seen = applied[record.partition]
        if not seen or position > seen[-1]:
            seen.append(position)
    return applied


def assert_store_order_per_aggregate(records: list[Any], rows: list[StoredRow]) -> None:
    """Deduplicated by position, each partition holds exactly its aggregates' events, each
    aggregate's in store order, and every event of the store is there once."""
    partition_of: dict[bytes, int] = {}
    for record in records:
        assert partition_of.setdefault(record.key, record.partition) == record.partition
    applied = first_deliveries(records)
    expected: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        key = str(uuid.UUID(row.originator_id)).encode()
        expected[partition_of[key]].append(row.position)
    assert dict(applied) == dict(expected)


def test_every_event_reaches_the_topic_as_a_cloudevent_in_store_order(
    settings: Settings, kafka_broker: Broker
) -> None:
    settings = stream_settings(settings, kafka_broker)
    platform = build(settings)
    relay = build_relay(settings, page_size=40)
    try:
        key_results = quarter_with_two_key_results(platform)
        check_ins(platform, 60, key_results)
        rows = store_rows(platform)
        assert relay.catch_up() == len(rows)
        assert relay.position() == rows[-1].position
    finally:
        relay.close()
        platform.close()

    records = read_topic(kafka_broker.bootstrap, settings.kafka_topic)
    # Nothing failed, so nothing was sent twice.
    assert sorted(stream_envelope.decode(r.value).position for r in records) == [
        r.position for r in rows
    ]
    assert_store_order_per_aggregate(records, rows)
    assert len({r.partition for r in records}) > 1
    source = stream_envelope.event_source(settings)
    keys = trusted_keys(settings)
    by_position = {stream_envelope.decode(r.value).position: r for r in records}
    for row in rows:
        record = by_position[row.position]
        envelope = json.loads(record.value)
        assert record.key == str(uuid.UUID(row.originator_id)).encode()
        assert dict(record.headers)["content-type"] == stream_envelope.CONTENT_TYPE
        assert envelope["specversion"] == "1.0"
        assert envelope["id"] == stream_envelope.event_id(
            row.originator_id or "", row.originator_version or 0
        )
        assert envelope["source"] == source
        assert envelope["type"] == row.topic
        assert envelope["subject"] == str(uuid.UUID(row.originator_id))
        assert envelope["datacontenttype"] == "application/json"
        assert envelope["data"] == json.loads(row.state or b"")
        assert envelope["time"] == stream_envelope.rfc3339(
            datetime.fromisoformat(envelope["data"]["timestamp"]["_data_"])
        )
        assert envelope["okrgovposition"] == row.position
        assert envelope["okrgovversion"] == row.originator_version
        # Signed by the store's key over what the store holds.
        assert envelope["okrgovleaf"] == leaf_hash(row.leaf()).hex()
        assert stream_envelope.admit(record.value, source, keys).position == row.position


def test_a_relay_killed_mid_stream_resumes_without_a_gap(
    tmp_path: Path, kafka_broker: Broker
) -> None:
    base = Settings(
        data_dir=tmp_path, secret_key="test-secret-of-enough-length-for-hs256", log_level="WARNING"
    )
    settings = stream_settings(base, kafka_broker)
    platform = build(settings)
    watcher = build_relay(settings)
    try:
        check_ins(platform, 300, quarter_with_two_key_results(platform))
        rows = store_rows(platform)
        end = rows[-1].position

        # Pages of five: the relay is killed between acknowledgements, most likely with a
        # page sent but its position not recorded.
        run = [OKRGOV, "relay", "--until-caught-up", "--page-size", "5"]
        first = subprocess.Popen(run, env=cli_env(settings))
        assert wait_until(lambda: watcher.position() > 0, timeout=60, interval=0.002)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = watcher.position()
        assert 0 < killed_at < end, "the relay was not killed in the middle of the stream"

        # Resumed with the pages encoded in the relay's own process: the same records.
        subprocess.run(
            [*run, "--no-encoder-process"], env=cli_env(settings), timeout=120, check=True
        )
        assert watcher.position() == end
    finally:
        watcher.close()
        platform.close()

    records = read_topic(kafka_broker.bootstrap, settings.kafka_topic)
    positions = Counter(stream_envelope.decode(r.value).position for r in records)
    assert set(positions) == {row.position for row in rows}  # nothing missing
    repeated = sorted(p for p, n in positions.items() if n > 1)
    # Only the page the killed relay had sent without recording it can come twice.
    after = [row.position for row in rows if row.position > killed_at][:5]
    assert set(repeated) <= set(after)
    assert all(n <= 2 for n in positions.values())
    assert_store_order_per_aggregate(records, rows)


def test_a_frozen_broker_loses_nothing_and_the_position_waits_for_acks(
    tmp_path: Path, own_broker: Broker
) -> None:
    base = Settings(
        data_dir=tmp_path, secret_key="test-secret-of-enough-length-for-hs256", log_level="WARNING"
    )
    broker = own_broker
    settings = stream_settings(base, broker)
    platform = build(settings)
    # Short timeouts, so the freeze outlasts the producer's patience: pages fail and
    # the relay goes round its backoff, new producer and resend.
    relay = build_relay(
        settings,
        page_size=20,
        flush_timeout=1.5,
        request_timeout_ms=800,
        delivery_timeout_ms=2000,
        linger_ms=200,
        max_block_ms=1000,
        bootstrap_timeout_ms=1000,
    )
    stop = threading.Event()
    worker = threading.Thread(target=relay.run, args=(stop, 0.02))
    try:
        key_results = quarter_with_two_key_results(platform)
        check_ins(platform, 100, key_results)
        worker.start()
        before = platform.ledger.recorder.max_notification_id() or 0
        assert wait_until(lambda: relay.position() == before, timeout=30)

        broker.pause()
        try:
            check_ins(platform, 100, key_results)
            stuck = wait_until(lambda: relay.failures >= 2, timeout=30)
            # Nothing acknowledged, nothing recorded.
            assert relay.position() == before
        finally:
            broker.resume()
        assert stuck, "the relay never saw the frozen broker fail a page"
        check_ins(platform, 50, key_results)
        end = platform.ledger.recorder.max_notification_id()
        assert wait_until(lambda: relay.position() == end, timeout=60)
    finally:
        stop.set()
        worker.join(timeout=30)
        relay.close()
    rows = store_rows(platform)
    platform.close()
    records = read_topic(broker.bootstrap, settings.kafka_topic)

    positions = Counter(stream_envelope.decode(r.value).position for r in records)
    assert set(positions) == {row.position for row in rows}
    # Duplicates only of pages sent while the broker was frozen, never of acked ones.
    assert all(p > before for p, n in positions.items() if n > 1)
    assert_store_order_per_aggregate(records, rows)


def test_after_a_broker_restart_the_relay_publishes_from_its_own_position(
    tmp_path: Path, own_broker: Broker
) -> None:
    base = Settings(
        data_dir=tmp_path, secret_key="test-secret-of-enough-length-for-hs256", log_level="WARNING"
    )
    broker = own_broker
    settings = stream_settings(base, broker)
    platform = build(settings)
    relay = build_relay(
        settings, request_timeout_ms=2000, max_block_ms=2000, bootstrap_timeout_ms=2000
    )
    try:
        key_results = quarter_with_two_key_results(platform)
        check_ins(platform, 30, key_results)
        relay.catch_up()
        published = relay.position()
        assert published == platform.ledger.recorder.max_notification_id()

        broker.restart()  # memory storage: the topic and its records are gone
        check_ins(platform, 30, key_results)
        relay.catch_up()
        rows = store_rows(platform)
        assert relay.position() == rows[-1].position
    finally:
        relay.close()
        platform.close()
    records = read_topic(broker.bootstrap, settings.kafka_topic)

    # What came after the recorded position, at least once (the page that met the restarted
    # broker may repeat), and nothing from before it: the relay neither started again from
    # the beginning nor skipped what was recorded while the broker was away.
    after = [row for row in rows if row.position > published]
    assert {stream_envelope.decode(r.value).position for r in records} == {
        row.position for row in after
    }
    assert_store_order_per_aggregate(records, after)


def test_a_relay_without_the_stores_signing_key_refuses_to_start(
    tmp_path: Path, kafka_broker: Broker
) -> None:
    settings = stream_settings(Settings(data_dir=tmp_path, log_level="WARNING"), kafka_broker)
    settings = settings.model_copy(update={"signing_key": None})
    run = subprocess.run(
        [OKRGOV, "relay", "--until-caught-up"],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "OKRGOV_SIGNING_KEY" in run.stderr
    assert not (tmp_path / "signing_key").exists()  # no key made up to sign with


def test_a_relay_signs_only_with_a_key_the_store_records(
    settings: Settings, kafka_broker: Broker
) -> None:
    settings = stream_settings(settings, kafka_broker)
    platform = build(settings)
    try:
        plan_quarter(platform)
    finally:
        platform.close()
    env = cli_env(settings)
    # The store's first checkpoint records its key (SIGNING_KEY) as the store's.
    signed = subprocess.run(
        [OKRGOV, "checkpoint"], env=env, capture_output=True, text=True, timeout=120
    )
    assert signed.returncode == 0, signed.stderr
    other = encode_private_key(Ed25519PrivateKey.generate())
    refused = subprocess.run(
        [OKRGOV, "relay", "--until-caught-up"],
        env={**env, "OKRGOV_SIGNING_KEY": other},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    assert "the store signs with" in refused.stderr and "OKRGOV_SIGNING_KEY" in refused.stderr
    assert settings.kafka_topic not in topics(kafka_broker)  # nothing was published
    published = subprocess.run(
        [OKRGOV, "relay", "--until-caught-up"], env=env, capture_output=True, timeout=120
    )
    assert published.returncode == 0
    assert read_topic(kafka_broker.bootstrap, settings.kafka_topic)
