"""The projection worker process: ``okrgov projector --source kafka`` builds the read
models from the Kafka topic (scaling out in a consumer group); ``--source store`` follows
the event store, as ``okrgov projections run`` does.

A worker fed from Kafka writes the views of ``services.bootstrap.PROJECTIONS`` in the
database of its own settings, which must not be one whose views are followed from the
store as well (the API's in-process projections): give the workers their own database or
PostgreSQL schema. The integrity leaf log is not among them: it hashes the store's own rows.

A worker applies only records of its store (``OKRGOV_EVENT_SOURCE``) that verify under the
trusted keys (``infra.stream_keys``), on the partition the relay puts their aggregate on;
everything else is quarantined (``projections.quarantine``). ``--reset`` rebuilds a
worker's views on purpose (``services.workers.stream_reset``).
"""

import threading
from enum import StrEnum
from typing import Annotated, Any

import structlog
import typer
from eventsourcing.persistence import Mapper

from infra import kafka, stream_envelope
from infra.config import Settings
from infra.logging import configure_logging
from infra.signing import InvalidSigningKey
from infra.stream_keys import NoStreamKeys
from projections.backends import event_mapper
from projections.follower import BATCH_SIZE, Projection
from services.bootstrap import PROJECTIONS, build, store_to_read, worker_consumer, worker_store
from services.cli.context import configured
from services.cli.integrity import start_or_refuse
from services.cli.progress import Every
from services.cli.summaries import StoreViews, kafka_line
from services.workers import stream_reset
from services.workers.kafka_source import Decode, KafkaSource, Observe, Refused, Target
from services.workers.relay import stop_on_signals

log = structlog.get_logger(__name__)


KAFKA_BATCH_SIZE = 500
"""Records per poll (and transaction) from Kafka, unless ``--batch-size`` says."""


class ViewsFollowedFromStore(RuntimeError):
    pass


def admission(mapper: Mapper[Any], source: str, keys: dict[str, bytes]) -> Decode:
    """A record to its position and domain event if it is one of the store's events
    (``stream_envelope.admit``) on its aggregate's partition; ``Refused`` otherwise. A verified
    record the mapper cannot read (an event type this code does not know) raises as it
    is: the batch fails and is read again, rather than an authentic event being lost."""

    def decode(record: Any, partitions: int) -> tuple[int, Any]:
        if record.value is None:
            raise Refused(stream_envelope.UNDECODABLE, "a record without a value")
        try:
            envelope = stream_envelope.admit(record.value, source, keys)
        except stream_envelope.RecordRefused as exc:
            seen = exc.envelope
            raise Refused(
                exc.reason,
                exc.detail,
                seen.source if seen else None,
                seen.id if seen else None,
                seen.position if seen else None,
            ) from None
        expected = kafka.partition_of(envelope.subject, partitions) if partitions else None
        if expected is not None and record.partition != expected:
            raise Refused(
                stream_envelope.WRONG_PARTITION,
                f"aggregate {envelope.subject} belongs on partition {expected}, "
                f"not {record.partition}",
                envelope.source,
                envelope.id,
                envelope.position,
            )
        return envelope.position, mapper.to_domain_event(envelope.stored_event())

    return decode


def build_kafka_source(
    settings: Settings,
    projections: tuple[type[Projection], ...] = PROJECTIONS,
    observe: Observe | None = None,
    **consumer_overrides: Any,
) -> KafkaSource:
    """A worker over the parts the composition root chose from ``settings``
    (``services.bootstrap.worker_store``): its database (for its views) and topic,
    accepting the records of ``stream_envelope.event_source(settings)`` signed by
    ``trusted_keys(settings)``."""
    store = worker_store(settings, projections)
    targets = [Target(projection(), view) for projection, view in store.views]
    for target in targets:
        followed = target.view.position()
        if followed:
            raise ViewsFollowedFromStore(
                f"the {target.projection.name} view in this database follows the event store "
                f"(position {followed}); give the Kafka workers a database or schema of their "
                "own (OKRGOV_DATABASE_URL, OKRGOV_DATABASE_SCHEMA)"
            )
    consumer = worker_consumer(settings, **consumer_overrides)
    log.info("projector.trusting", source=store.source, key_ids=sorted(store.keys))
    if not settings.event_source:
        # Derived from this worker's own database: the relay's is another, unless the two
        # share their settings. Every record would then be quarantined as foreign_source.
        log.warning(
            "projector.source_not_configured",
            source=store.source,
            hint="set OKRGOV_EVENT_SOURCE to the relay's source on the relay and every worker",
        )
    return KafkaSource(
        consumer,
        settings.kafka_topic,
        targets,
        admission(store.mapper, store.source, store.keys),
        store.quarantine,
        observe,
    )


class Source(StrEnum):
    store = "store"
    kafka = "kafka"


class Origin(StrEnum):
    topic = "topic"
    store = "store"


def projector(
    ctx: typer.Context,
    source: Annotated[
        Source | None,
        typer.Option(
            help="Where the events come from: the store, or the Kafka topic "
            "(default: store; kafka with --reset)."
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Events per transaction (per poll, from Kafka; default {BATCH_SIZE} from "
            f"the store, {KAFKA_BATCH_SIZE} from Kafka).",
        ),
    ] = None,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Rebuild this Kafka worker's views (its own database only) and exit; stop "
            "the group's workers first.",
        ),
    ] = False,
    origin: Annotated[
        Origin,
        typer.Option(
            "--from", help="With --reset: re-read the topic from the beginning, or the store."
        ),
    ] = Origin.topic,
    store_url: Annotated[
        str | None,
        typer.Option(
            help="The store's database URL (default: own), read only: for --reset --from "
            "store, and to count a Kafka worker's lag against the store."
        ),
    ] = None,
    store_schema: Annotated[
        str | None,
        typer.Option(help="The store's PostgreSQL schema (as --store-url)."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve /metrics and /healthz on this port (0: off).", min=0),
    ] = None,
    summary_every: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            min=0,
            help="How often to say what was applied, on stderr (0: only when stopped).",
        ),
    ] = 10.0,
) -> None:
    """Run a projection worker in the foreground, from the store or from Kafka.

    From Kafka, workers sharing OKRGOV_KAFKA_GROUP share the topic's partitions; stopped
    or killed at any moment, each resumes from its views' tracked positions without
    missing or repeating an event. Only records of OKRGOV_EVENT_SOURCE signed by a trusted
    key are applied; others are quarantined."""
    settings = configured(ctx).settings
    configure_logging(settings.log_level, settings.log_format)
    stop = threading.Event()
    stop_on_signals(stop)
    if reset:
        if source is Source.store:
            typer.echo("error: --reset rebuilds a Kafka worker's views (--source kafka)", err=True)
            raise typer.Exit(2)
        reset_worker(
            settings, origin, store_url, store_schema, batch_size or KAFKA_BATCH_SIZE, stop
        )
        return
    if source is None or source is Source.store:
        platform = build(settings)
        try:
            platform.projections.resize(batch_size or BATCH_SIZE)
            views = StoreViews(platform)  # where the views were before it started
            start_or_refuse(platform)  # exit 78 when this process's signing key is not the store's
            from services.workers.stream_watch import watch_followers

            watch = watch_followers(settings, platform, metrics_port)
            try:
                with Every(summary_every, lambda: f"projector: {views.line()}"):
                    while not stop.wait(1.0):
                        pass
            finally:
                watch.close()
        finally:
            platform.close()
        return
    from services.workers.stream_watch import watch_worker, worker_watch

    watched = worker_watch(settings, store_url, store_schema)  # lag against the store, if given
    worker = _kafka_worker(
        settings, observe=watched.observe, max_poll_records=batch_size or KAFKA_BATCH_SIZE
    )
    watch = watch_worker(settings, watched, worker, metrics_port)
    try:
        with Every(summary_every, lambda: kafka_line(worker)):
            worker.run(stop)
    finally:
        watch.close()
        worker.close()


def _kafka_worker(settings: Settings, **consumer_overrides: Any) -> KafkaSource:
    try:
        return build_kafka_source(settings, **consumer_overrides)
    except (
        kafka.KafkaNotConfigured,
        ViewsFollowedFromStore,
        NoStreamKeys,
        InvalidSigningKey,
    ) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def reset_worker(
    settings: Settings,
    origin: Origin,
    store_url: str | None,
    store_schema: str | None,
    batch_size: int,
    stop: threading.Event,
) -> None:
    """``--reset``: clear and rebuild, print a summary (``services.workers.stream_reset``)."""
    if origin is Origin.store and not (store_url or store_schema):
        typer.echo(
            "error: --from store needs --store-url and/or --store-schema: where the store "
            "is (OKRGOV_DATABASE_URL is this worker's own database)",
            err=True,
        )
        raise typer.Exit(2)
    worker = _kafka_worker(settings, max_poll_records=batch_size)
    try:
        if origin is Origin.topic:
            summary = stream_reset.reset_from_topic(worker, settings, stop)
        else:
            # One factory: building a SQLite store again would drop this process's locks.
            factory = store_to_read(settings, store_url, store_schema)
            summary = stream_reset.reset_from_store(
                worker,
                settings,
                factory.application_recorder(),
                event_mapper(factory),
                batch_size,
                stop,
            )
    except stream_reset.GroupActive as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        worker.close()
    for line in summary.lines():
        typer.echo(line)
    if not summary.complete:
        raise typer.Exit(1)
