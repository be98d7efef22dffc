"""``okrgov relay``: the relay (``services.workers.relay``) in the foreground, with what it
did in one line at the end ("published N events, positions A to B").

The relay's position lives in the store's database, not on the broker. Before it
publishes, the command reads how far the topic goes (the highest store position of its
records, ``topic_reach``); a topic that ends before the recorded position (a new or
emptied broker) lacks events the relay will never send again by itself, and whatever it
published next would land after that gap, where consumers (which drop, per partition,
any position at or below the last they applied) could no longer take the missing ones.
So the relay then refuses to start and says how to go on: ``--from-position N`` publishes
every event from N again (an explicit, logged act of the operator), or, given the
position after the recorded one, carries on without them."""

import threading
from typing import Annotated, Any

import structlog
import typer

from infra import kafka, stream_envelope
from infra.config import Settings
from infra.logging import configure_logging
from infra.signing import InvalidSigningKey
from infra.stream_keys import NoStreamKeys
from services.application.evidence.relay_key import RelayKeyRefused
from services.cli.context import configured
from services.workers.relay import PAGE_SIZE, Relay, build_relay, stop_on_signals

log = structlog.get_logger(__name__)


def relay(
    ctx: typer.Context,
    until_caught_up: Annotated[
        bool,
        typer.Option(
            "--until-caught-up", help="Stop once every event in the store has been acknowledged."
        ),
    ] = False,
    from_position: Annotated[
        int | None,
        typer.Option(
            "--from-position",
            metavar="N",
            min=1,
            help="Publish every event from position N on again (1: the whole store), e.g. "
            "to a new broker; consumers drop what they applied before. At most one past "
            "the relay's recorded position.",
        ),
    ] = None,
    page_size: Annotated[
        int, typer.Option(metavar="N", min=1, help="Most events per page.")
    ] = PAGE_SIZE,
    poll_seconds: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", min=0.001, help="How often an idle relay looks for new events."
        ),
    ] = 0.1,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            metavar="PORT", min=0, help="Serve /metrics and /healthz on this port (0: off)."
        ),
    ] = None,
    inline: Annotated[
        bool,
        typer.Option(
            "--no-encoder-process",
            help="Encode and sign pages in the relay's own process (by default a process of "
            "their own, on another core, does it while the page before is sent).",
        ),
    ] = False,
) -> None:
    """Publish the store's events to Kafka, from the relay's recorded position.

    Every event goes to OKRGOV_KAFKA_TOPIC at least once, in store order per aggregate,
    after the position the relay recorded in the store's database. A topic that ends
    before that position (a new broker, say) is reported and nothing is published;
    --from-position then publishes again from a position of your choice."""
    settings = configured(ctx).settings
    configure_logging(settings.log_level)
    try:
        publisher = build_relay(settings, page_size=page_size, encoder_process=not inline)
    except (kafka.KafkaNotConfigured, NoStreamKeys, InvalidSigningKey, RelayKeyRefused) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    stop = threading.Event()
    stop_on_signals(stop)
    try:
        after = _start_after(settings, publisher, from_position)
        _publish(settings, publisher, stop, until_caught_up, poll_seconds, metrics_port, after)
    finally:
        publisher.close()
    typer.echo(summary(publisher))


def _publish(
    settings: Settings,
    publisher: Relay,
    stop: threading.Event,
    until_caught_up: bool,
    poll_seconds: float,
    metrics_port: int | None,
    after: int | None,
) -> None:
    from services.workers.stream_watch import watch_relay

    watch = watch_relay(settings, publisher, metrics_port)
    try:
        if after is not None:
            publisher.republish(after, stop)
        if not until_caught_up:
            publisher.run(stop, poll_seconds)
        elif after is None:
            publisher.catch_up(stop)
    finally:
        watch.close()


def summary(publisher: Relay) -> str:
    """What the relay did, in one line."""
    sent, topic = publisher.sent, publisher.topic
    if not sent.events:
        return (
            f"nothing to publish: every event up to position {publisher.position()} "
            f"was published to {topic}"
        )
    return (
        f"published {sent.events} events to {topic}, positions {sent.first} to {sent.last}; "
        f"recorded position {publisher.position()}"
    )


def _start_after(settings: Settings, publisher: Relay, from_position: int | None) -> int | None:
    """Where to publish from: after the position ``--from-position`` names (None: after the
    recorded one). Exits 2 when it would skip events, 1 when the topic lacks events the
    relay recorded as published and no ``--from-position`` says what to do."""
    recorded = publisher.position()
    if from_position is not None:
        if from_position > recorded + 1:
            typer.echo(
                f"error: --from-position {from_position} would skip events: the relay has "
                f"published up to position {recorded}; give at most {recorded + 1}",
                err=True,
            )
            raise typer.Exit(2)
        if from_position <= recorded:
            typer.echo(
                f"publishing again every event from position {from_position} on to "
                f"{settings.kafka_topic} (the relay had published up to {recorded})",
                err=True,
            )
            return from_position - 1
        return None
    reach = topic_reach(settings) if recorded else None
    if reach is not None and reach < recorded:
        typer.echo(behind_message(settings.kafka_topic, reach, recorded), err=True)
        raise typer.Exit(1)
    return None


def behind_message(topic: str, reach: int, recorded: int) -> str:
    """What to say, and what to do, when the topic ends before the recorded position."""
    where = "is empty" if reach == 0 else f"ends at position {reach}"
    return (
        f"error: the topic {topic} {where}, but the relay has published up to position "
        f"{recorded} (recorded in the store's database): a new or emptied broker? Events "
        f"{reach + 1} to {recorded} are not on it, and the relay does not send them again "
        "by itself. Nothing was published.\n"
        f"  to publish them again:       okrgov relay --from-position {reach + 1}\n"
        f"  to carry on without them:    okrgov relay --from-position {recorded + 1}"
    )


def topic_reach(settings: Settings, timeout: float = 10.0) -> int | None:
    """The highest store position among the last records of the topic's partitions: 0
    when the topic is missing or holds no record, None when the broker could not tell
    (the relay's own retries then deal with it)."""
    try:
        consumer = kafka.consumer(settings, group_id=None, client_id="okrgov-relay-check")
    except Exception as exc:  # the broker unreachable, say
        log.debug("relay.topic_unread", error=repr(exc)[:300])
        return None
    try:
        return _reach(consumer, settings.kafka_topic, timeout)
    except Exception as exc:
        log.debug("relay.topic_unread", error=repr(exc)[:300])
        return None
    finally:
        consumer.close()


def _reach(consumer: Any, topic: str, timeout: float) -> int | None:
    from kafka import TopicPartition

    numbers = consumer.partitions_for_topic(topic)
    if not numbers:
        return 0
    partitions = [TopicPartition(topic, p) for p in sorted(numbers)]
    ends = consumer.end_offsets(partitions)
    starts = consumer.beginning_offsets(partitions)
    filled = [tp for tp in partitions if ends[tp] > starts[tp]]
    if not filled:
        return 0
    consumer.assign(filled)
    for tp in filled:
        consumer.seek(tp, ends[tp] - 1)
    reach, waiting = 0, set(filled)
    for _ in range(max(1, int(timeout / 0.2))):
        for tp, records in consumer.poll(timeout_ms=200).items():
            waiting.discard(tp)
            for record in records:
                reach = max(reach, _position(record.value))
        if not waiting:
            return reach
    return None  # some partition's last record did not come: cannot tell


def _position(value: bytes | None) -> int:
    """A record's store position (0: not one of a relay's records)."""
    try:
        return stream_envelope.decode(value or b"").position
    except Exception:
        return 0
