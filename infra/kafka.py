"""The event stream's Kafka clients: producers, consumers and the topic, built from
settings. What travels in a record (the CloudEvents envelope, its signature and the checks
a consumer runs) is ``infra.stream_envelope``.

One record per event, keyed by aggregate id, so each aggregate's events share a partition
and keep their store order (``partition_of``)."""

from typing import Any
from uuid import UUID

import structlog
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from kafka.partitioner.default import murmur2
from kafka.record.default_records import DefaultRecordBatchBuilder

from infra.config import Settings

log = structlog.get_logger(__name__)

BATCH_BYTES = 1024 * 1024
MAX_RECORD_OVERHEAD: int = DefaultRecordBatchBuilder.MAX_RECORD_OVERHEAD
PAGE_BYTES = BATCH_BYTES - DefaultRecordBatchBuilder.HEADER_STRUCT.size
"""The most bytes the relay's page may take in a record batch, its records' ``record_bytes``
summed: a page's records for one partition then always fit one batch (see ``producer``)."""


def record_bytes(key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> int:
    """The most bytes a record takes in a record batch (format v2, which an idempotent
    producer writes): its key, value and headers, and the largest offset and timestamp
    deltas. kafka-python starts a new batch when the next record would take the batch past
    ``batch_size``."""
    size: int = DefaultRecordBatchBuilder.size_of(key, value, headers)
    return size + MAX_RECORD_OVERHEAD


class KafkaNotConfigured(ValueError):
    pass


def partition_of(subject: UUID, partitions: int) -> int:
    """The partition the relay puts an aggregate's records on (``key_partition`` of its key)."""
    return key_partition(str(subject).encode(), partitions)


def key_partition(key: bytes, partitions: int) -> int:
    """The default partitioner's choice for a record key: murmur2 of the key, as Kafka's
    Java client and kafka-python's ``DefaultPartitioner`` do (partitions 0 to n-1)."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


# ---- clients ---------------------------------------------------------------------------


def bootstrap_servers(settings: Settings) -> list[str]:
    if not settings.kafka_bootstrap:
        raise KafkaNotConfigured("set OKRGOV_KAFKA_BOOTSTRAP (host:port[,host:port...])")
    return [server.strip() for server in settings.kafka_bootstrap.split(",") if server.strip()]


def producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    """An idempotent producer that waits for every in-sync replica (``acks=all``).

    One request in flight per connection, and a partition is muted while its batch is in
    flight, so a retried batch never lands behind a later one. Records wait in the
    accumulator (``linger_ms``) until the relay flushes its page; a page's records for one
    partition then go out as one batch (a page takes at most ``PAGE_BYTES`` of a batch of
    ``batch_size``), which the
    broker writes whole or not at all: a failed page never leaves a gap that later records
    of the same partition land behind."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers(settings),
        "client_id": "okrgov-relay",
        "acks": "all",
        "enable_idempotence": True,
        "max_in_flight_requests_per_connection": 1,
        "linger_ms": 5000,
        "batch_size": BATCH_BYTES,
        "max_request_size": 4 * BATCH_BYTES,
        "request_timeout_ms": 30000,
        "delivery_timeout_ms": 120000,
        "max_block_ms": 30000,
        "reconnect_backoff_max_ms": 5000,
        # The topic is made by ``ensure_topic`` with okrgov's partition count, never by a
        # broker's defaults on first use (after a broker lost it, say).
        "allow_auto_create_topics": False,
    }
    config.update(overrides)
    return KafkaProducer(**config)


def consumer(settings: Settings, **overrides: Any) -> KafkaConsumer:
    """A consumer in the projection workers' group that commits offsets only when told."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers(settings),
        "client_id": "okrgov-projector",
        "group_id": settings.kafka_group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": 500,
        # How long the broker may hold a fetch that found nothing new. Kafka answers as soon
        # as data arrives; some Kafka-protocol brokers (tansu) hold it for the whole wait,
        # which then adds to every event's lag.
        "fetch_max_wait_ms": 100,
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": settings.kafka_heartbeat_interval_ms,
        "max_poll_interval_ms": settings.kafka_max_poll_interval_ms,
        "reconnect_backoff_max_ms": 5000,
        "allow_auto_create_topics": False,
    }
    config.update(overrides)
    return KafkaConsumer(**config)


def ensure_topic(settings: Settings, **overrides: Any) -> bool:
    """Create the topic with the configured partitions unless it exists; True if created.
    Done before anything produces or subscribes: a broker that creates topics on first use
    would give it its own default partition count."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers(settings), client_id="okrgov-admin", **overrides
    )
    try:
        if settings.kafka_topic in admin.list_topics():
            _check_partitions(admin, settings)
            return False
        topic = NewTopic(
            settings.kafka_topic, settings.kafka_partitions, settings.kafka_replication_factor
        )
        try:
            admin.create_topics([topic])
        except TopicAlreadyExistsError:
            return False
        return True
    finally:
        admin.close()


def _check_partitions(admin: KafkaAdminClient, settings: Settings) -> None:
    (described,) = admin.describe_topics([settings.kafka_topic])
    found = len(described["partitions"])
    if found != settings.kafka_partitions:
        # A broker that creates topics on first use made it (auto.create.topics.enable):
        # per-aggregate order holds all the same, as long as the count never changes.
        log.warning(
            "kafka.topic_partitions_differ",
            topic=settings.kafka_topic,
            partitions=found,
            configured=settings.kafka_partitions,
        )


def discard(producer: KafkaProducer) -> None:
    """Close a producer at once, failing whatever it still holds. ``KafkaProducer.close``
    flushes first and raises when that times out, so a producer whose records are stuck
    (a frozen broker) could never be closed; its sender is force-closed here instead,
    which fails every incomplete batch and drops the connections."""
    sender = getattr(producer, "_sender", None)
    if sender is not None:
        sender.force_close()
        sender.join(timeout=10)
    producer.close(timeout=0)
