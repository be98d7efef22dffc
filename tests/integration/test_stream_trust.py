"""The stream trusts only its source (issue 9, point 3): projection workers, as real
processes on a real Kafka-protocol broker, apply only the records of their own store that
the relay signed; another store's records and forged ones (a bad signature, another key,
no signature, an id or leaf that does not match the content, an authentic record on the
wrong partition, bytes that are no event) are quarantined, never applied, never move a
position, and the real events after them are applied. ``okrgov projector --reset``
rebuilds a worker's views from the topic or from the store, on purpose."""

import base64
import json
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka_broker import Broker, cli_env, read_topic, wait_until
from quarter import TOM, plan_quarter
from stream_support import (
    PARTITIONS,
    SIGNING_KEY,
    differing,
    kill_left,
    on_stream,
    quarantine_of,
    rows,
    stop_cleanly,
    store_views,
    worker_views,
    workers_database,
)

from infra import kafka, stream_envelope
from infra.config import Settings
from infra.signing import Signer, parse_private_key
from infra.stored_events import StoredEvents
from projections.quarantine import Quarantine
from services.bootstrap import PROJECTIONS, Platform, build
from services.workers.kafka_source import KafkaSource, tracking_name
from services.workers.projector import build_kafka_source
from services.workers.relay import build_relay

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]
OKRGOV = str(Path(sys.executable).parent / "okrgov")
STORE_KEY = Signer(parse_private_key(SIGNING_KEY))


@pytest.fixture
def worker_settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    yield from workers_database(settings, tmp_path)


def streams(
    settings: Settings, worker_settings: Settings, broker: Broker
) -> tuple[Settings, Settings]:
    """The store's settings and the workers': same topic, group and source; the workers
    hold only the store's public key, as in production."""
    topic, group = f"okrgov.events.{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    store = on_stream(settings, broker, topic, group)
    workers = on_stream(worker_settings, broker, topic, group).model_copy(
        update={
            "signing_key": None,
            "stream_public_keys": STORE_KEY.public_key_b64,
            "log_level": "INFO",
        }
    )
    return store, workers


def check_ins(platform: Platform, key_result: Any, n: int, start: int = 0) -> None:
    for week in range(start, start + n):
        platform.ledger.check_in(TOM, key_result, 15 - week % 7, 0.6, f"check-in {week}")


def store_end(platform: Platform) -> int:
    return platform.ledger.recorder.max_notification_id() or 0


# ---- forgeries -------------------------------------------------------------------------


def _value(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, separators=(",", ":")).encode()


def _with_leaf(envelope: dict[str, Any]) -> dict[str, Any]:
    """The leaf hash recomputed for what the envelope now says (a careful forger)."""
    leaf = stream_envelope.decode(_value(envelope)).content_leaf().hex()
    return {**envelope, stream_envelope.LEAF: leaf}


def _signed_by(envelope: dict[str, Any], signer: Signer) -> dict[str, Any]:
    signature = signer.sign(stream_envelope.decode(_value(envelope)).signed_bytes())
    return {
        **envelope,
        stream_envelope.KEY_ID: signer.key_id,
        stream_envelope.SIGNATURE: base64.b64encode(signature).decode(),
    }


def forgeries(real: Any) -> list[tuple[str, bytes, bytes, int | None]]:
    """(expected reason, key, value, partition or None for the key's own) of records made
    from ``real``, an authentic check-in record, by someone who can write to the topic."""
    envelope = json.loads(real.value)
    fake = {
        **envelope,
        "data": {**envelope["data"], "value": 0.0},
        stream_envelope.POSITION: 1_000_000,
    }
    forger = Signer(Ed25519PrivateKey.generate())
    unsigned = {k: v for k, v in _with_leaf(fake).items() if k != stream_envelope.SIGNATURE}
    wrong = (real.partition + 1) % PARTITIONS
    return [
        # A fake check-in at position 1,000,000, its leaf recomputed, the old signature.
        (stream_envelope.BAD_SIGNATURE, real.key, _value(_with_leaf(fake)), None),
        # The same, signed by the forger's own key.
        (stream_envelope.UNKNOWN_KEY, real.key, _value(_signed_by(_with_leaf(fake), forger)), None),
        (stream_envelope.UNSIGNED, real.key, _value(unsigned), None),
        (
            stream_envelope.ID_MISMATCH,
            real.key,
            _value({**envelope, "id": str(uuid.uuid4())}),
            None,
        ),
        # The content changed, the leaf and signature left as they were.
        (
            stream_envelope.LEAF_MISMATCH,
            real.key,
            _value({**fake, stream_envelope.POSITION: real_position(real)}),
            None,
        ),
        # An authentic record replayed on another partition, ahead of that one's events.
        (stream_envelope.WRONG_PARTITION, real.key, real.value, wrong),
        (stream_envelope.UNDECODABLE, real.key, b"a fake check-in, not even JSON", None),
    ]


def real_position(record: Any) -> int:
    return stream_envelope.decode(record.value).position


def produce(
    bootstrap: str, topic: str, records: list[tuple[str, bytes, bytes, int | None]]
) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    try:
        for _, key, value, partition in records:
            producer.send(topic, key=key, value=value, partition=partition)
        producer.flush()
    finally:
        producer.close()


def latest_check_in(bootstrap: str, topic: str, source: str) -> Any:
    records = [r for r in read_topic(bootstrap, topic) if b"CheckedIn" in r.value]
    ours = [r for r in records if stream_envelope.decode(r.value).source == source]
    return max(ours, key=real_position)


def tracked(views: dict[str, Any], topic: str) -> list[int]:
    return [
        views[p.name].max_tracking_id(tracking_name(p.name, topic, n)) or 0
        for p in PROJECTIONS
        for n in range(PARTITIONS)
    ]


def committed(bootstrap: str, topic: str, group: str) -> dict[int, int]:
    """The group's committed offset of each partition (0 where none)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        return {n: consumer.committed(TopicPartition(topic, n)) or 0 for n in range(PARTITIONS)}
    finally:
        consumer.close()


def past_every(quarantine: Quarantine, offsets: dict[int, int]) -> bool:
    """Committed past every quarantined record: no partition is stuck on one."""
    kept = quarantine.rows()
    return bool(kept) and all(offsets[r["kafka_partition"]] > r["kafka_offset"] for r in kept)


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [OKRGOV, "projector", "--source", "kafka", "--batch-size", "20"],
            env=cli_env(settings),
            stderr=out,
        )


def log_events(log: Path, event: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in log.read_text().splitlines()
        if line.startswith("{") and f'"{event}"' in line
    ]


# ---- the tests -------------------------------------------------------------------------


def test_workers_apply_only_their_stores_signed_records_and_quarantine_the_rest(
    settings: Settings, worker_settings: Settings, kafka_broker: Broker, tmp_path: Path
) -> None:
    store, workers = streams(settings, worker_settings, kafka_broker)
    topic = store.kafka_topic
    platform = build(store)
    relay = build_relay(store, page_size=50)
    # Another okrgov store publishing to the same topic, even with the same key.
    other_settings = on_stream(
        Settings(
            data_dir=tmp_path / "other",
            secret_key="test-secret-of-enough-length-for-hs256",
            log_level="WARNING",
        ),
        kafka_broker,
        topic,
        store.kafka_group,
    ).model_copy(update={"event_source": "okrgov://test/another-store"})
    other = build(other_settings)
    other_relay = build_relay(other_settings)
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    running: list[subprocess.Popen[bytes]] = []
    try:
        _, _, key_result = plan_quarter(platform)
        check_ins(platform, key_result.id, 20)
        relay.catch_up()
        _, _, theirs = plan_quarter(other)
        check_ins(other, theirs.id, 5)
        foreign = other_relay.catch_up()

        forged = forgeries(latest_check_in(kafka_broker.bootstrap, topic, store.event_source or ""))
        produce(kafka_broker.bootstrap, topic, forged)
        # Real events after the forgeries, on the same partitions.
        check_ins(platform, key_result.id, 15, start=20)
        relay.catch_up()
        end = store_end(platform)

        running = [start_worker(workers, log) for log in logs]
        views = worker_views(workers)
        expected = store_views(platform)
        quarantine = quarantine_of(views)
        assert wait_until(
            lambda: (
                not differing(expected, views)
                and quarantine.count() == foreign + len(forged)
                and past_every(
                    quarantine, committed(kafka_broker.bootstrap, topic, store.kafka_group)
                )
            ),
            timeout=90,
            interval=0.3,
        ), (
            f"views differ: {differing(expected, views)}; quarantined "
            f"{Counter(row['reason'] for row in quarantine.rows())}, expected {foreign} foreign"
        )
        stop_cleanly(running)
    finally:
        kill_left(running)
        relay.close()
        other_relay.close()
        other.close()
        platform.close()

    # Row for row what a rebuild from the store holds: no fake check-in, nothing missing.
    for name, view in views.items():
        assert rows(view) == expected[name], name
    doc = views["okr_state"].get("key_result", str(key_result.id))
    assert doc is not None and doc["check_in_count"] == 35
    # No position moved past the store's end (the forged 1,000,000 among them).
    assert 0 < max(tracked(views, topic)) <= end
    # Each refused record is kept once, with why, where, and its bytes.
    kept = quarantine.rows()
    reasons = Counter(row["reason"] for row in kept)
    assert reasons == Counter(
        {stream_envelope.FOREIGN_SOURCE: foreign, **{reason: 1 for reason, *_ in forged}}
    )
    by_value = {row["record_value"]: row for row in kept}
    for reason, key, value, _ in forged:
        row = by_value[value]
        assert row["reason"] == reason and row["record_key"] == key
        assert row["topic"] == topic and row["kafka_offset"] >= 0
    assert {row["source"] for row in kept if row["reason"] == stream_envelope.FOREIGN_SOURCE} == {
        "okrgov://test/another-store"
    }
    assert by_value[forged[0][2]]["position"] == 1_000_000
    # And reported: a warning per refusal, across the two workers.
    warned = [line for log in logs for line in log_events(log, "projector.quarantined")]
    assert len(warned) >= len(kept)
    assert {line["reason"] for line in warned} == set(reasons)
    assert all(line["level"] == "warning" for line in warned)


def drain(source: KafkaSource, until: Any, timeout: float = 60) -> None:
    assert wait_until(lambda: source.poll_once(200) >= 0 and until(), timeout, interval=0)


def okrgov(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OKRGOV, "projector", *args],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def store_location(settings: Settings) -> list[str]:
    if settings.database_url:
        return [
            "--store-url",
            settings.database_url,
            "--store-schema",
            settings.database_schema or "",
        ]
    return ["--store-url", f"sqlite:///{(settings.data_dir / 'okrgov.sqlite').resolve()}"]


def tamper(views: dict[str, Any]) -> None:
    """A worker's views gone wrong: what a reset is for."""
    view = views["okr_state"]
    with view.transaction(commit=True) as c:
        c.execute(view._q("DELETE FROM {docs} WHERE kind = 'key_result'"))


def test_reset_rebuilds_a_workers_views_from_the_topic_or_the_store(
    settings: Settings, worker_settings: Settings, kafka_broker: Broker
) -> None:
    store, workers = streams(settings, worker_settings, kafka_broker)
    topic = store.kafka_topic
    platform = build(store)
    relay = build_relay(store, page_size=50)
    try:
        _, _, key_result = plan_quarter(platform)
        check_ins(platform, key_result.id, 10)
        relay.catch_up()
        forged = forgeries(latest_check_in(kafka_broker.bootstrap, topic, store.event_source or ""))
        produce(kafka_broker.bootstrap, topic, forged[:1])
        expected = store_views(platform)

        worker = build_kafka_source(workers)
        views = {t.projection.name: t.view for t in worker.targets}
        quarantine = worker.quarantine
        drain(worker, lambda: not differing(expected, views) and worker.quarantined == 1)
        tamper(views)
        assert differing(expected, views) == ["okr_state"]

        # A worker of the group is running: the reset refuses, and changes nothing.
        worker.poll_once(100)
        refused = okrgov(workers, "--reset")
        assert refused.returncode == 2 and "running workers" in refused.stderr
        assert differing(expected, views) == ["okr_state"]
        worker.close()

        # From the topic: cleared, re-read from the beginning, the forgery quarantined again.
        done = okrgov(workers, "--reset")
        assert done.returncode == 0, done.stderr
        assert "reset from the topic" in done.stdout and "quarantined 1" in done.stdout
        assert f"position {store_end(platform)}" in done.stdout
        for name, view in views.items():
            assert rows(view) == expected[name], name
        assert max(tracked(views, topic)) <= store_end(platform)
        assert past_every(quarantine, committed(kafka_broker.bootstrap, topic, store.kafka_group))
        assert quarantine.count() == 1  # read twice, kept once

        # From the store, with events the topic does not have yet.
        tamper(views)
        check_ins(platform, key_result.id, 5, start=10)
        expected = store_views(platform)
        done = okrgov(workers, "--reset", "--from", "store", *store_location(store))
        assert done.returncode == 0, done.stderr
        assert "reset from the store" in done.stdout
        for name, view in views.items():
            assert rows(view) == expected[name], name
        assert set(tracked(views, topic)) == {store_end(platform)}

        # Workers carry on: what the views hold is dropped, what is newer applied once.
        relay.catch_up()
        before = store_end(platform)
        check_ins(platform, key_result.id, 3, start=15)
        relay.catch_up()
        new = len(StoredEvents(platform.ledger.recorder).page(before, 1000))
        expected = store_views(platform)
        # A worker again, over the same datastore (see ``stream_support.worker_views``).
        again = KafkaSource(
            kafka.consumer(workers), topic, worker.targets, worker.decode, quarantine
        )
        try:
            drain(again, lambda: not differing(expected, views))
            assert again.applied == new
        finally:
            again.close()
        doc = views["okr_state"].get("key_result", str(key_result.id))
        assert doc is not None and doc["check_in_count"] == 18

        # Views that follow the store are not a worker's to reset.
        own = okrgov(store.model_copy(update={"log_level": "WARNING"}), "--reset")
        assert own.returncode == 2 and "follows the event store" in own.stderr
        needs = okrgov(workers, "--reset", "--from", "store")
        assert needs.returncode == 2 and "--store-url" in needs.stderr
    finally:
        relay.close()
        platform.close()


def test_a_records_leaf_hash_is_the_leaf_a_signed_checkpoint_proves(
    settings: Settings, kafka_broker: Broker
) -> None:
    """The link from the stream to the evidence: ``okrgovleaf`` is the leaf hash that
    ``okrgov verify --prove`` shows included under a signed tree head."""
    store, _ = streams(settings, settings, kafka_broker)
    platform = build(store)
    relay = build_relay(store)
    env = cli_env(store)
    try:
        _, _, key_result = plan_quarter(platform)
        check_ins(platform, key_result.id, 5)
        signed = subprocess.run(
            [OKRGOV, "checkpoint"], env=env, capture_output=True, text=True, timeout=120
        )
        assert signed.returncode == 0, signed.stderr
        relay.catch_up()
    finally:
        relay.close()
        platform.close()
    record = latest_check_in(kafka_broker.bootstrap, store.kafka_topic, store.event_source or "")
    envelope = json.loads(record.value)
    proved = subprocess.run(
        [OKRGOV, "verify", "--prove", str(envelope[stream_envelope.POSITION])],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proved.returncode == 0, proved.stdout + proved.stderr
    proof = json.loads(proved.stdout[: proved.stdout.rstrip().rindex("\n")])
    assert proof["included"] and proof["position"] == envelope[stream_envelope.POSITION]
    assert proof["leaf_hash"] == envelope[stream_envelope.LEAF]
