"""``okrgov relay`` as an operator runs it, against a real Kafka-protocol broker (tansu): it
says what it published, stays quiet about the Kafka library's chatter, notices a topic that
lacks what its recorded position says was published (a restarted broker: tansu keeps
topics in memory) and publishes nothing after such a gap, and ``--from-position``
publishes the events again."""

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.persistence import Tracking
from kafka_broker import Broker, cli_env, read_topic, tansu_broker
from process_lines import last_line_when_stopped, read_lines_until
from quarter import TOM, plan_quarter
from stream_support import SIGNING_KEY, on_stream, workers_database

from infra import stream_envelope
from infra.config import Settings
from infra.stored_events import StoredEvents
from services.bootstrap import build
from services.workers.relay import build_relay

pytestmark = pytest.mark.kafka
OKRGOV = str(Path(sys.executable).parent / "okrgov")


@pytest.fixture
def own_broker(kafka_broker: Broker) -> Iterator[Broker]:
    """A broker to restart (asking for the session's first skips the test without one)."""
    with tansu_broker() as broker:
        yield broker


def relay(settings: Settings, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OKRGOV, "relay", "--until-caught-up", "--no-encoder-process", *options],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def positions_on(broker: Broker, topic: str) -> list[int]:
    return sorted(
        stream_envelope.decode(r.value).position for r in read_topic(broker.bootstrap, topic)
    )


def test_the_relay_says_what_it_published_and_republishes_to_an_emptied_broker(
    tmp_path: Path, own_broker: Broker
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        secret_key="test-secret-of-enough-length-for-hs256",
        log_level="INFO",  # the library's INFO lines would show here: they must not
        kafka_bootstrap=own_broker.bootstrap,
        kafka_topic=f"okrgov.events.{uuid.uuid4().hex[:8]}",
        kafka_partitions=3,
        signing_key=SIGNING_KEY,
    )
    platform = build(settings)
    try:
        plan_quarter(platform)
        store = [row.position for row in StoredEvents(platform.ledger.recorder).rows()]
    finally:
        platform.close()
    first, last, topic = store[0], store[-1], settings.kafka_topic

    published = relay(settings)
    assert published.returncode == 0, published.stderr
    assert published.stdout.strip().splitlines()[-1] == (
        f"published {len(store)} events to {topic}, positions {first} to {last}; "
        f"recorded position {last}"
    )
    assert "kafka." not in published.stderr  # no library logger speaks below WARNING

    again = relay(settings)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == (
        f"nothing to publish: every event up to position {last} was published to {topic}"
    )

    own_broker.restart()  # memory storage: the topic and its records are gone
    refused = relay(settings)
    assert refused.returncode == 1
    assert f"the topic {topic} is empty, but the relay has published up to position {last}" in (
        refused.stderr
    )
    assert f"okrgov relay --from-position {first}" in refused.stderr
    assert f"okrgov relay --from-position {last + 1}" in refused.stderr
    assert refused.stdout == ""

    skipping = relay(settings, "--from-position", str(last + 2))
    assert skipping.returncode == 2
    assert f"give at most {last + 1}" in skipping.stderr

    republished = relay(settings, "--from-position", str(first))
    assert republished.returncode == 0, republished.stderr
    assert republished.stdout.strip().splitlines()[-1] == (
        f"published {len(store)} events to {topic}, positions {first} to {last}; "
        f"recorded position {last}"
    )
    assert "relay.republishing" in republished.stderr  # the operator's act is in the log
    assert positions_on(own_broker, topic) == store  # every event once, on the new broker

    # The topic now reaches the recorded position: a plain run has nothing to do.
    assert relay(settings).stdout.strip().startswith("nothing to publish")


def test_a_topic_that_ends_before_the_position_names_the_gap(
    tmp_path: Path, kafka_broker: Broker
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        secret_key="test-secret-of-enough-length-for-hs256",
        log_level="WARNING",
        kafka_bootstrap=kafka_broker.bootstrap,
        kafka_topic=f"okrgov.events.{uuid.uuid4().hex[:8]}",
        kafka_partitions=3,
        signing_key=SIGNING_KEY,
    )
    platform = build(settings)
    try:
        _, _, key_result = plan_quarter(platform)
        assert relay(settings).returncode == 0
        reach = platform.ledger.recorder.max_notification_id() or 0
        for week in range(3):
            platform.ledger.check_in(TOM, key_result.id, 10 + week, 0.5, f"week {week}")
        last = platform.ledger.recorder.max_notification_id() or 0
        store = [row.position for row in StoredEvents(platform.ledger.recorder).rows()]
    finally:
        platform.close()
    # The relay recorded publishing the new events too, but they never reached this topic
    # (another broker took them, say).
    recorder = build_relay(settings, encoder_process=False)
    try:
        recorder.tracking.insert_tracking(Tracking(recorder.name, last))
    finally:
        recorder.close()

    refused = relay(settings)
    assert refused.returncode == 1
    assert f"ends at position {reach}, but the relay has published up to position {last}" in (
        refused.stderr
    )
    assert f"Events {reach + 1} to {last} are not on it" in refused.stderr
    assert positions_on(kafka_broker, settings.kafka_topic) == [p for p in store if p <= reach]

    filled = relay(settings, "--from-position", str(reach + 1))
    assert filled.returncode == 0, filled.stderr
    after = [p for p in store if p > reach]
    assert filled.stdout.strip().splitlines()[-1] == (
        f"published {len(after)} events to {settings.kafka_topic}, positions {after[0]} to "
        f"{last}; recorded position {last}"
    )
    assert positions_on(kafka_broker, settings.kafka_topic) == store


def test_a_kafka_projector_says_what_it_applied_while_it_runs(
    tmp_path: Path, kafka_broker: Broker
) -> None:
    base = Settings(
        data_dir=tmp_path / "store",
        secret_key="test-secret-of-enough-length-for-hs256",
        log_level="WARNING",
    )
    topic = f"okrgov.events.{uuid.uuid4().hex[:8]}"
    settings = on_stream(base, kafka_broker, topic, group=f"g-{uuid.uuid4().hex[:8]}")
    platform = build(settings)
    try:
        plan_quarter(platform)
        store = [row.position for row in StoredEvents(platform.ledger.recorder).rows()]
    finally:
        platform.close()
    assert relay(settings).returncode == 0
    workers = next(workers_database(settings, tmp_path))
    run = subprocess.Popen(
        [OKRGOV, "projector", "--source", "kafka", "--summary-every", "0.2"],
        env=cli_env(workers),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wanted = f"projector: applied {len(store)} events from {topic}; dropped 0"
        said = read_lines_until(run, wanted, timeout=90)
        assert said[-1] == f"{wanted} already applied, quarantined 0"
        assert run.poll() is None  # said while it runs
        last = last_line_when_stopped(run)
    finally:
        if run.poll() is None:
            run.kill()
    assert last == said[-1]  # and once more when stopped
