"""The relay: publishes every event of the store to a Kafka topic, in store order, from a
position of its own kept in the store's database.

At least once. A page of events is sent, flushed, and its position recorded only once
the broker has acknowledged every record of it (``acks=all``). A crash between the
acknowledgement and the record, or a page that fails part way, is sent again from the
recorded position: records after it may reach the topic twice, never zero times. Each
envelope carries its store position (``okrgovposition``); per partition the positions of
first deliveries only ever grow, so a consumer drops any record whose position is not
above the last one it applied from that partition. Each record is signed with the store's
key (``infra.stream_envelope.encode``), so consumers can refuse what the relay did not send.
Pages go one at a time, each after the one before is recorded; while one is in flight the
next is read and encoded, by default in a process of its own (``infra.stream_encoder``).

While the broker is unreachable the relay keeps the page, waits with exponential backoff
(up to ``MAX_BACKOFF``), makes a new producer and sends the page again: nothing is
skipped, and the position never moves past an unacknowledged event."""

import random
import threading
from collections.abc import Callable
from typing import Any, Protocol

import structlog
from eventsourcing.persistence import IntegrityError, Tracking, TrackingRecorder
from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from infra import kafka, stream_envelope
from infra.config import Settings
from infra.signing import Signer
from infra.stored_events import StoredEvents
from infra.stream_pages import EncoderFailed, InlineEncoder, PageEncoder, Pages
from services.bootstrap import relay_parts

log = structlog.get_logger(__name__)

MAX_BACKOFF = 10.0
PAGE_SIZE = 2000
"""Most events per page (one flush, one position recorded; a crash repeats at most one);
pages are also cut where a partition's records would pass a batch (``infra.stream_pages``)."""


class PublishFailed(Exception):
    """The broker did not acknowledge every record of a page."""


class PageObserver(Protocol):
    """Told of each page the relay sends, and of its fate (``services.workers.stream_watch``)."""

    def sending(self, events: int) -> None: ...
    def acknowledged(self, events: int, position: int) -> None: ...
    def failed(self, error: Exception) -> None: ...


class Sent:
    """Events published, and the first and last of their positions."""

    def __init__(self) -> None:
        self.events = 0
        self.first: int | None = None
        self.last: int | None = None

    def add(self, first: int, last: int, events: int) -> None:
        self.events += events
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)


class Relay:
    """Follows the notification log from its own tracking record and publishes each event
    as a CloudEvent keyed by its aggregate id."""

    def __init__(
        self,
        stored: StoredEvents,
        tracking: TrackingRecorder,
        new_producer: Callable[[], KafkaProducer],
        topic: str,
        source: str,
        signer: Signer,
        page_size: int = PAGE_SIZE,
        page_bytes: int = kafka.PAGE_BYTES,
        flush_timeout: float = 125.0,
        encoder: PageEncoder | None = None,
    ) -> None:
        self.stored = stored
        self.tracking = tracking
        self.new_producer = new_producer
        self.topic = topic
        self.source = source
        self.signer = signer
        self.flush_timeout = flush_timeout
        """How long a page may wait for its acknowledgements: a little over the producer's
        delivery timeout, which kafka-python does not always enforce on a frozen broker."""
        self.name = f"relay@{topic}"
        self._producer: KafkaProducer | None = None
        self._backoff = 0.0
        self.failures = 0
        """Pages the broker did not acknowledge (each sent again)."""
        self.observer: PageObserver | None = None
        self.sent = Sent()
        """What this relay has published since it was made (for its summary)."""
        self.pages = Pages(stored, encoder or InlineEncoder(source, signer), page_size, page_bytes)

    def position(self) -> int:
        """The last position the broker acknowledged, as recorded."""
        return self.tracking.max_tracking_id(self.name) or 0

    def connect(self) -> None:
        """Make the producer (and the topic, if missing) now rather than on the first page."""
        if self._producer is None:
            self._producer = self.new_producer()
        self.pages.encoder.start()

    def _partitions(self) -> int:
        """The topic's partitions as the producer knows them: each record goes to the one
        its default partitioner would choose, computed with the page (``infra.stream_pages``)."""
        self.connect()
        assert self._producer is not None
        return len(self._producer.partitions_for(self.topic))

    def publish_page(self, after: int | None = None) -> int:
        """Publish the page after the recorded position (or after ``after``, to publish
        again what was published before) and record its last position once the broker
        acknowledged all of it, unless that is recorded already; returns how many events
        were published. Raises ``PublishFailed`` (or a ``KafkaError``) with the position
        unchanged."""
        page = self.pages.after(self.position() if after is None else after, self._partitions)
        if not page.rows:
            return 0
        if self.observer is not None:
            self.observer.sending(len(page.rows))
        producer = self._producer
        assert producer is not None  # connected for the partitions
        # The next page is read and encoded while this one is sent and acknowledged; it
        # is sent only after this one's position is recorded.
        self.pages.read_ahead(page.rows[-1].position, self._partitions())
        futures = []
        refused: KafkaError | None = None
        headers = stream_envelope.HEADERS
        try:
            for key, value, partition in page.records:
                futures.append(
                    producer.send(
                        self.topic, key=key, value=value, headers=headers, partition=partition
                    )
                )
        except KafkaError as exc:  # no metadata in time, say: the rest of the page waits
            refused = exc
        try:
            producer.flush(timeout=self.flush_timeout)
        except KafkaTimeoutError:
            raise PublishFailed(f"not acknowledged within {self.flush_timeout} s") from refused
        failed = [f.exception for f in futures if f.failed()]
        if refused is not None or failed:
            first = refused or failed[0]
            raise PublishFailed(f"{len(failed)} of {len(futures)} records failed: {first!r}")
        last = page.rows[-1].position
        self.sent.add(page.rows[0].position, last, len(page.rows))
        if after is not None and last <= self.position():
            pass  # published again: recorded already, and the position never goes back
        else:
            self._record(last)
        if self.observer is not None:
            self.observer.acknowledged(len(page.rows), last)
        log.debug("relay.published", events=len(page.rows), position=last)
        return len(page.rows)

    def _record(self, last: int) -> None:
        try:
            self.tracking.insert_tracking(Tracking(self.name, last))
        except IntegrityError:
            # Another relay on the same topic recorded this far already; carry on after it.
            log.warning("relay.position_taken", position=last)

    def catch_up(self, stop: threading.Event | None = None, after: int | None = None) -> int:
        """Publish until the end of the store (or ``stop``), riding out broker failures.
        With ``after``, the events after it are published again first, up to the recorded
        position, then on from there as always (``republish``)."""
        stop = stop or threading.Event()
        published = 0
        while not stop.is_set():
            try:
                sent = self.publish_page(after)
            except (PublishFailed, KafkaError, EncoderFailed) as exc:
                self._failed(exc, stop)
                continue
            if self._backoff:
                log.info("relay.recovered", position=self.position())
                self._backoff = 0.0
            if not sent:
                return published
            published += sent
            if after is not None:
                last = self.sent.last or 0
                after = last if last < self.position() else None
        return published

    def republish(self, after: int, stop: threading.Event | None = None) -> int:
        """Publish again every event after ``after`` (up to the recorded position), then
        on to the end of the store: an operator's explicit act, for a topic that lost
        events the relay had recorded as published (a new broker, say). Still at least
        once: a consumer drops, per partition, what it applied before (by position), and
        the recorded position only moves forward."""
        log.warning("relay.republishing", topic=self.topic, after=after, recorded=self.position())
        return self.catch_up(stop, after=after)

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        """Publish until ``stop`` is set, looking for new events every ``poll_seconds``."""
        log.info(
            "relay.started",
            topic=self.topic,
            position=self.position(),
            source=self.source,
            key_id=self.signer.key_id,
            public_key=self.signer.public_key_b64,
        )
        while not stop.is_set():
            try:
                self.catch_up(stop)
            except Exception as exc:  # the store unreachable, say: keep the process up
                log.exception("relay.failed")
                self._failed(exc, stop)
                continue
            stop.wait(poll_seconds)
        log.info("relay.stopped", position=self.position())

    def _failed(self, exc: Exception, stop: threading.Event) -> None:
        self.failures += 1
        if self.observer is not None:
            self.observer.failed(exc)
        self._discard_producer()
        self._backoff = min(MAX_BACKOFF, self._backoff * 2 or 0.2)
        delay = self._backoff * random.uniform(0.5, 1.0)
        log.warning(
            "relay.publish_failed",
            error=repr(exc)[:300],
            position=self.position(),
            retry_in=round(delay, 2),
        )
        stop.wait(delay)

    def _discard_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            kafka.discard(producer)

    def close(self) -> None:
        """Stop publishing; a page already acknowledged keeps its recorded position."""
        producer, self._producer = self._producer, None
        self.pages.close()
        if producer is not None:
            producer.close(timeout=10)


def build_relay(
    settings: Settings,
    page_size: int = PAGE_SIZE,
    flush_timeout: float | None = None,
    encoder_process: bool = True,
    **producer_overrides: Any,
) -> Relay:
    """A relay over the parts the composition root chose from ``settings``
    (``services.bootstrap.relay_parts``, encoding in a process unless ``encoder_process`` is
    False). Its producer is made (and the topic created when missing) on first use and
    again after every failure."""
    parts = relay_parts(settings, encoder_process, **producer_overrides)
    delivery_ms = producer_overrides.get("delivery_timeout_ms", 120000)
    return Relay(
        parts.events,
        parts.tracking,
        parts.new_producer,
        parts.topic,
        parts.source,
        parts.signer,
        page_size=page_size,
        flush_timeout=flush_timeout or delivery_ms / 1000 + 5,
        encoder=parts.encoder,
    )


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT finish the page in hand, then stop."""
    import signal

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
