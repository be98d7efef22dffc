"""The projection worker process: ``okrgov projector --source kafka`` builds the read
models from the Kafka topic (scaling out in a consumer group); ``--source store`` follows
the event store, as ``okrgov projections run`` does.

A worker fed from Kafka writes the views of ``services.bootstrap.PROJECTIONS`` in the
database of its own settings, which must not be one whose views are followed from the
store as well (the API's in-process projections): give the workers their own database or
PostgreSQL schema. The integrity leaf log is not among them: it hashes the store's own rows.
"""

import threading
from enum import StrEnum
from typing import Annotated, Any

import structlog
import typer
from eventsourcing.persistence import InfrastructureFactory, Mapper
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from infra import kafka
from infra.config import Settings
from infra.logging import configure_logging
from projections.documents import DocumentView, PostgresDocumentView, SQLiteDocumentView
from projections.entries import EntryProjection, PostgresEntryView, SQLiteEntryView
from projections.follower import Projection
from projections.kafka_source import Decode, KafkaSource, Observe, Target
from services.bootstrap import PROJECTIONS, build
from services.ledger import Ledger
from services.relay import stop_on_signals, store_factory

log = structlog.get_logger(__name__)


class ViewsFollowedFromStore(RuntimeError):
    pass


def ledger_mapper(factory: InfrastructureFactory[Any]) -> Mapper[Any]:
    """The ledger's own mapper (its transcodings, compressor and cipher settings), made
    without constructing the ledger, which would open an event store and seed a policy."""
    app = Ledger.__new__(Ledger)
    app.factory = factory
    return app.construct_mapper()


def view_for(datastore: object, projection: type[Projection]) -> DocumentView:
    entries = issubclass(projection, EntryProjection)
    view: DocumentView
    if isinstance(datastore, SQLiteDatastore):
        view = (SQLiteEntryView if entries else SQLiteDocumentView)(datastore, projection.name)
    elif isinstance(datastore, PostgresDatastore):
        view = (PostgresEntryView if entries else PostgresDocumentView)(datastore, projection.name)
    else:
        raise TypeError(f"no document view for {type(datastore).__name__}")
    view.create_table()
    return view


def decoder(mapper: Mapper[Any]) -> Decode:
    def decode(value: bytes) -> tuple[int, Any]:
        envelope = kafka.decode(value)
        return envelope.position, mapper.to_domain_event(envelope.stored_event())

    return decode


def build_kafka_source(
    settings: Settings,
    projections: tuple[type[Projection], ...] = PROJECTIONS,
    observe: Observe | None = None,
    **consumer_overrides: Any,
) -> KafkaSource:
    """A worker over the settings' database (for its views) and topic."""
    factory = store_factory(settings)
    datastore = getattr(factory, "datastore", None)
    targets = [Target(p(), view_for(datastore, p)) for p in projections]
    for target in targets:
        followed = target.view.position()
        if followed:
            raise ViewsFollowedFromStore(
                f"the {target.projection.name} view in this database follows the event store "
                f"(position {followed}); give the Kafka workers a database or schema of their "
                "own (OKRGOV_DATABASE_URL, OKRGOV_DATABASE_SCHEMA)"
            )
    kafka.ensure_topic(settings)
    consumer = kafka.consumer(settings, **consumer_overrides)
    return KafkaSource(
        consumer, settings.kafka_topic, targets, decoder(ledger_mapper(factory)), observe
    )


class Source(StrEnum):
    store = "store"
    kafka = "kafka"


def projector(
    source: Annotated[
        Source, typer.Option(help="Where the events come from: the store, or the Kafka topic.")
    ] = Source.store,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Events per transaction (per poll, from Kafka).")
    ] = 500,
) -> None:
    """Run a projection worker in the foreground. From Kafka, workers sharing
    OKRGOV_KAFKA_GROUP share the topic's partitions; stopped or killed at any moment, each
    resumes from its views' tracked positions without missing or repeating an event."""
    settings = Settings()
    configure_logging(settings.log_level)
    stop = threading.Event()
    stop_on_signals(stop)
    if source is Source.store:
        platform = build(settings)
        try:
            for follower in platform.followers.values():
                follower.batch_size = batch_size
            platform.start()
            while not stop.wait(1.0):
                pass
        finally:
            platform.close()
        return
    try:
        worker = build_kafka_source(settings, max_poll_records=batch_size)
    except (kafka.KafkaNotConfigured, ViewsFollowedFromStore) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        worker.run(stop)
    finally:
        worker.close()
