"""The event stream's processes: the parts of the relay (``services.workers.relay``) and
of the Kafka projection workers (``services.workers.projector``), and stores reached to be
read. The workers keep their loops and signal handling; what they read, write, trust and
connect to is chosen here, from the settings."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import InfrastructureFactory, Mapper, TrackingRecorder
from kafka import KafkaConsumer, KafkaProducer

from infra import kafka, stream_envelope
from infra.config import Settings
from infra.persistence import store_lock
from infra.signing import Signer
from infra.stored_events import StoredEvents
from infra.stream_encoder import ProcessEncoder
from infra.stream_keys import relay_signer, trusted_keys
from infra.stream_pages import InlineEncoder, PageEncoder
from projections.backends import (
    datastore_of,
    event_mapper,
    quarantine_for,
    store_factory,
    tracking_recorder,
    view_for,
)
from projections.documents import DocumentView
from projections.follower import Projection
from projections.quarantine import Quarantine
from services.application.evidence.relay_key import check_relay_key
from services.bootstrap.platform import PROJECTIONS


@dataclass(frozen=True)
class RelayParts:
    """What the relay (``services.workers.relay``) publishes from and with."""

    events: StoredEvents
    tracking: TrackingRecorder
    new_producer: Callable[[], KafkaProducer]
    topic: str
    source: str
    signer: Signer
    encoder: PageEncoder


def relay_parts(
    settings: Settings, encoder_process: bool = True, **producer_overrides: Any
) -> RelayParts:
    """The store (read) and the relay's tracking table in its database, a producer made on
    demand (the topic created when missing), and the store's signing key: refused
    (``RelayKeyRefused``) when the store records another. Pages are encoded and signed in
    a process of their own (``encoder_process``, loading the same key from the same
    settings), else in the relay's."""
    kafka.bootstrap_servers(settings)  # KafkaNotConfigured now, not on every retry
    with store_lock(settings, "setup"):  # tables made one process at a time
        factory = store_factory(settings)
        recorder = factory.application_recorder()
        tracking = tracking_recorder(datastore_of(factory), "relay_tracking")
        tracking.create_table()
    admin = {
        name: value
        for name, value in producer_overrides.items()
        if name in ("request_timeout_ms", "bootstrap_timeout_ms")
    }

    def new_producer() -> KafkaProducer:
        kafka.ensure_topic(settings, **admin)
        return kafka.producer(settings, **producer_overrides)

    signer = relay_signer(settings)
    check_relay_key(factory, signer)  # the store's key, or none recorded yet
    source = stream_envelope.event_source(settings)
    encoder: PageEncoder = (
        ProcessEncoder(source, signer, settings.signing_key, settings.data_dir)
        if encoder_process
        else InlineEncoder(source, signer)
    )
    return RelayParts(
        StoredEvents(recorder),
        tracking,
        new_producer,
        settings.kafka_topic,
        source,
        signer,
        encoder,
    )


@dataclass(frozen=True)
class WorkerStore:
    """A Kafka projection worker's own database: the views it writes, its quarantine, and
    the ledger's mapper to read the records it admits; the records it trusts."""

    views: tuple[tuple[type[Projection], DocumentView], ...]
    quarantine: Quarantine
    mapper: Mapper[Any]
    source: str
    keys: dict[str, bytes]


def worker_store(
    settings: Settings, projections: tuple[type[Projection], ...] = PROJECTIONS
) -> WorkerStore:
    """The views of ``projections`` and the quarantine in the settings' database, and the
    records it admits: those of ``stream_envelope.event_source(settings)`` signed by
    ``trusted_keys(settings)`` (``NoStreamKeys`` when none is configured)."""
    keys = trusted_keys(settings)
    with store_lock(settings, "setup"):  # workers starting together on a fresh schema
        factory = store_factory(settings)
        datastore = datastore_of(factory)
        views = tuple((p, view_for(datastore, p)) for p in projections)
        quarantine = quarantine_for(datastore)
        quarantine.create_table()
    source = stream_envelope.event_source(settings)
    return WorkerStore(views, quarantine, event_mapper(factory), source, keys)


def worker_consumer(settings: Settings, **consumer_overrides: Any) -> KafkaConsumer:
    """A consumer of the settings' topic in their group (the topic created when missing)."""
    kafka.ensure_topic(settings)
    return kafka.consumer(settings, **consumer_overrides)


def store_to_read(
    settings: Settings, url: str | None = None, schema: str | None = None
) -> InfrastructureFactory[Any]:
    """The event store at ``url`` and ``schema`` (by default the settings' own), reached
    without the ledger to read it: no table is created, nothing seeded or written."""
    place = settings.model_copy(
        update={
            "database_url": url or settings.database_url,
            "database_schema": schema or settings.database_schema,
            "create_tables": False,
        }
    )
    return store_factory(place)
