"""The event stream on Kafka: producers, consumers and the topic built from settings, and
the CloudEvents 1.0 envelope (JSON, structured mode) every event travels in.

One record per event, keyed by aggregate id, so each aggregate's events share a partition
and keep their store order. The envelope carries the event's stored state as it is in the
event table (the JSON the application's transcoder wrote, parsed, never re-made from domain
objects), the store position (``okrgovposition``) and the aggregate version
(``okrgovversion``); a consumer rebuilds the stored event from it and decodes it with the
application's own mapper."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from uuid import NAMESPACE_URL, UUID, uuid5

import structlog
from eventsourcing.persistence import StoredEvent
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from infra.config import Settings
from infra.persistence import is_postgres
from infra.stored_events import StoredRow

log = structlog.get_logger(__name__)

SPEC_VERSION = "1.0"
POSITION = "okrgovposition"
"""Extension attribute: the event's position in the store's notification log."""
VERSION = "okrgovversion"
"""Extension attribute: the event's version within its aggregate (1, 2, ...)."""
CONTENT_TYPE = b"application/cloudevents+json; charset=UTF-8"
"""The ``content-type`` header of a structured-mode CloudEvents Kafka record."""
EVENT_IDS = uuid5(NAMESPACE_URL, "okrgov://events")
"""Namespace of the event ids: uuid5 over ``<aggregate id hex>:<version>``."""

PAGE_BYTES = 512 * 1024
"""The most envelope bytes the relay sends as one page: with ``BATCH_BYTES`` above it, a
page's records for one partition always fit one record batch (see ``producer``)."""
BATCH_BYTES = 1024 * 1024


class KafkaNotConfigured(ValueError):
    pass


class UndecodableEvent(ValueError):
    """A record on the topic that is not an okrgov CloudEvent this code can read."""


# ---- the envelope ----------------------------------------------------------------------


def event_id(originator_id: str, version: int) -> str:
    """The stable CloudEvents id of an event: the same in every process, on every run."""
    return str(uuid5(EVENT_IDS, f"{UUID(originator_id).hex}:{version}"))


def event_source(settings: Settings) -> str:
    """The CloudEvents ``source``: ``OKRGOV_EVENT_SOURCE``, else the store's database
    (without credentials)."""
    if settings.event_source:
        return settings.event_source
    if is_postgres(settings):
        url = urlparse(settings.database_url or "")
        db = url.path.lstrip("/") or "postgres"
        schema = settings.database_schema or "public"
        return f"okrgov://postgresql/{url.hostname or '127.0.0.1'}:{url.port or 5432}/{db}/{schema}"
    url_path = (settings.database_url or "").removeprefix("sqlite:").lstrip("/")
    path = Path(url_path) if url_path else settings.data_dir / "okrgov.sqlite"
    return f"okrgov://sqlite/{path.resolve().as_posix().lstrip('/')}"


def rfc3339(moment: datetime) -> str:
    """A fixed-width UTC timestamp with microseconds, as CloudEvents ``time`` wants it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _stored_time(data: Any) -> str | None:
    """The event's own timestamp from its stored state (the transcoder's ``datetime_iso``)."""
    stamp = data.get("timestamp") if isinstance(data, dict) else None
    if isinstance(stamp, dict) and stamp.get("_type_") == "datetime_iso":
        return rfc3339(datetime.fromisoformat(stamp["_data_"]))
    return None


def encode(row: StoredRow, source: str) -> tuple[bytes, bytes]:
    """The record key (aggregate id) and value (CloudEvents JSON) of one stored event."""
    if row.originator_id is None or row.originator_version is None or row.topic is None:
        raise ValueError(f"event at position {row.position} lacks its id, version or topic")
    subject = str(UUID(row.originator_id))
    envelope: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": event_id(row.originator_id, row.originator_version),
        "source": source,
        "type": row.topic,
        "subject": subject,
    }
    state = row.state or b""
    try:
        data = json.loads(state)
    except (UnicodeDecodeError, ValueError):
        # Compressed or enciphered state: carried as it is, in base64.
        envelope["datacontenttype"] = "application/octet-stream"
        envelope["data_base64"] = base64.b64encode(state).decode("ascii")
    else:
        time = _stored_time(data)
        if time is not None:
            envelope["time"] = time
        envelope["datacontenttype"] = "application/json"
        envelope["data"] = data
    envelope[POSITION] = row.position
    envelope[VERSION] = row.originator_version
    value = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
    return subject.encode(), value.encode("utf-8")


@dataclass(frozen=True)
class Envelope:
    """What a consumer needs of an okrgov CloudEvent."""

    id: str
    source: str
    type: str
    subject: UUID
    position: int
    version: int
    state: bytes
    """The stored state: the JSON of ``data`` (or the bytes of ``data_base64``)."""
    time: str | None = None

    def stored_event(self) -> StoredEvent:
        """The stored event as the store holds it, for the application's mapper."""
        return StoredEvent(
            originator_id=self.subject,
            originator_version=self.version,
            topic=self.type,
            state=self.state,
        )


def decode(value: bytes) -> Envelope:
    """Read an envelope written by ``encode``; ``UndecodableEvent`` names what is wrong."""
    try:
        envelope = json.loads(value)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UndecodableEvent(f"not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise UndecodableEvent("not a JSON object")
    if envelope.get("specversion") != SPEC_VERSION:
        raise UndecodableEvent(f"specversion {envelope.get('specversion')!r}, not {SPEC_VERSION}")
    for name, kind in (("id", str), ("source", str), ("type", str), ("subject", str)):
        if not isinstance(envelope.get(name), kind):
            raise UndecodableEvent(f"{name} missing or not a string")
    for name in (POSITION, VERSION):
        number = envelope.get(name)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise UndecodableEvent(f"{name} missing or not a positive integer")
    try:
        subject = UUID(envelope["subject"])
    except ValueError:
        raise UndecodableEvent(f"subject {envelope['subject']!r} is not a UUID") from None
    if "data" in envelope:
        state = json.dumps(envelope["data"], separators=(",", ":"), ensure_ascii=False).encode()
    elif isinstance(envelope.get("data_base64"), str):
        try:
            state = base64.b64decode(envelope["data_base64"], validate=True)
        except binascii.Error:
            raise UndecodableEvent("data_base64 is not base64") from None
    else:
        raise UndecodableEvent("neither data nor data_base64")
    return Envelope(
        id=envelope["id"],
        source=envelope["source"],
        type=envelope["type"],
        subject=subject,
        position=envelope[POSITION],
        version=envelope[VERSION],
        state=state,
        time=envelope.get("time"),
    )


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
    partition then go out as one batch (``batch_size`` above ``PAGE_BYTES``), which the
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
