"""Projection workers fed from the Kafka topic instead of the store: the same projections,
the same document views, exactly-once in effect.

Each partition is tracked on its own (``<projection>@<topic>:<partition>``): the store
position of the last event applied from it, written in the view's transaction. The relay
delivers at least once, so a record whose position is not above that partition's tracked
position is a duplicate and is dropped. The check is made inside the transaction, after
taking a lock on the tracking name, so a worker that lost its partitions in a rebalance
and still finishes a batch cannot apply an event twice. Kafka offsets are committed only
after the views committed; a crash in between re-delivers records the views then drop.

Trust: every record passes ``decode`` first, which admits only records of this worker's
store, verified (see ``infra.stream_envelope.admit``), and raises ``Refused`` for anything else. A
refused record goes to the quarantine (``projections.quarantine``), a warning is logged
and ``quarantined`` counts it; it is never applied and never moves a tracked position, and
its offset is committed like any other so the partition goes on.

Order: Kafka keeps order within a partition, and the relay keys records by aggregate id,
so each aggregate's events arrive in store order; events of different aggregates on
different partitions arrive in no fixed order relative to each other."""

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from kafka import ConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata, TopicPartition

from projections.documents import DocumentView
from projections.follower import Projection
from projections.quarantine import Quarantine, Quarantined

log = structlog.get_logger(__name__)

Decode = Callable[[Any, int], tuple[int, Any]]
"""A consumer record (and the topic's partition count) to its store position and domain
event; raises ``Refused`` for a record that must not be applied."""
Observe = Callable[[int, list[int]], None]
"""Told the partition and the positions whose effects a batch just committed."""


def tracking_name(projection: str, topic: str, partition: int) -> str:
    return f"{projection}@{topic}:{partition}"


class Refused(Exception):
    """A record that is not an event of this worker's store: quarantined, never applied."""

    def __init__(
        self,
        reason: str,
        detail: str,
        source: str | None = None,
        event_id: str | None = None,
        position: int | None = None,
    ) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.source = source
        self.event_id = event_id
        self.position = position


@dataclass(frozen=True)
class Target:
    """A projection and the view it writes."""

    projection: Projection
    view: DocumentView


def apply_new(
    view: DocumentView, projection: Projection, name: str, events: Iterable[tuple[int, Any]]
) -> list[int]:
    """Apply, in one transaction with the tracking record ``name``, the events whose
    position is above the position ``name`` has recorded (and above every earlier one in
    ``events``: a batch may hold a duplicate run); returns the positions applied."""
    return view.apply_new(name, projection.apply, events)


class KafkaSource:
    """Consumes the topic in a consumer group and keeps each target's view up to date."""

    def __init__(
        self,
        consumer: KafkaConsumer,
        topic: str,
        targets: Sequence[Target],
        decode: Decode,
        quarantine: Quarantine,
        observe: Observe | None = None,
    ) -> None:
        self.consumer = consumer
        self.topic = topic
        self.targets = targets
        self.decode = decode
        self.quarantine = quarantine
        self.observe = observe
        self._tracked: dict[tuple[str, int], int] = {}
        self.applied = 0
        self.dropped = 0
        self.quarantined = 0
        """Records this worker refused (kept in the quarantine once, however often read)."""
        self._subscribed = False

    # ---- partitions ----------------------------------------------------------------------

    def subscribe(self) -> None:
        self.consumer.subscribe([self.topic], listener=_Listener(self))
        self._subscribed = True

    def assigned(self, partitions: Iterable[TopicPartition]) -> None:
        """(Re)read the tracked positions of newly assigned partitions: another worker
        may have moved them on since this one last held them."""
        mine = sorted(tp.partition for tp in partitions if tp.topic == self.topic)
        for partition in mine:
            for target in self.targets:
                name = tracking_name(target.projection.name, self.topic, partition)
                self._tracked[(target.projection.name, partition)] = (
                    target.view.max_tracking_id(name) or 0
                )
        log.info("projector.assigned", topic=self.topic, partitions=mine)

    def assign(self, partitions: Sequence[TopicPartition]) -> None:
        """Read ``partitions`` without joining the group (a reset, while the group is
        empty); offsets are still committed for the group."""
        self.consumer.assign(list(partitions))
        self._subscribed = True
        self.assigned(partitions)

    def clear(self, partitions: int) -> None:
        """Forget every document of the targets' views and their positions on this topic's
        ``partitions``, each view in one transaction (a rebuild from the beginning)."""
        for target in self.targets:
            target.view.forget(self._names(target, partitions))
        self._tracked.clear()

    def track_all(self, partitions: int, position: int) -> None:
        """Record ``position`` as applied on every partition, for every target (the views
        were rebuilt from the store up to it): a record at or below it is then dropped,
        one above it applied, whatever partition it comes from."""
        for target in self.targets:
            target.view.track_at_least(self._names(target, partitions), position)

    def _names(self, target: Target, partitions: int) -> list[str]:
        """The tracking names of ``target`` on this topic's first ``partitions``."""
        return [
            tracking_name(target.projection.name, self.topic, partition)
            for partition in range(partitions)
        ]

    def revoked(self, partitions: Iterable[TopicPartition]) -> None:
        for tp in partitions:
            for target in self.targets:
                self._tracked.pop((target.projection.name, tp.partition), None)
        log.info("projector.revoked", partitions=sorted(tp.partition for tp in partitions))

    def position(self, partition: int) -> int:
        """The lowest position the targets have tracked for ``partition``."""
        names = (tracking_name(t.projection.name, self.topic, partition) for t in self.targets)
        return min(
            (target.view.max_tracking_id(name) or 0)
            for target, name in zip(self.targets, names, strict=True)
        )

    # ---- consuming -----------------------------------------------------------------------

    def poll_once(self, timeout_ms: int = 1000) -> int:
        """Apply one poll's records; returns how many events some view took."""
        if not self._subscribed:
            self.subscribe()
        batches = self.consumer.poll(timeout_ms=timeout_ms)
        done: dict[TopicPartition, OffsetAndMetadata] = {}
        applied = 0
        partitions = len(self.consumer.partitions_for_topic(self.topic) or ()) if batches else 0
        try:
            for tp in sorted(batches, key=lambda tp: tp.partition):
                records = batches[tp]
                applied += self._apply_partition(tp.partition, records, partitions)
                done[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
        finally:
            # Offsets only for partitions whose views committed; the others go back to
            # their first record of this poll, to be read again.
            for tp, records in batches.items():
                if tp not in done:
                    self.consumer.seek(tp, records[0].offset)
            if done:
                self._commit(done)
        return applied

    def _apply_partition(self, partition: int, records: Sequence[Any], partitions: int) -> int:
        admitted: list[tuple[int, Any]] = []
        refused: list[Quarantined] = []
        for record in records:
            try:
                admitted.append(self.decode(record, partitions))
            except Refused as exc:
                refused.append(_quarantined(self.topic, record, exc))
        if refused:
            self._quarantine(refused)
        floor = min(self._tracked.get((t.projection.name, partition), 0) for t in self.targets)
        events = [(position, event) for position, event in admitted if position > floor]
        self.dropped += len(admitted) - len(events)
        if not events:
            return 0
        positions: set[int] = set()
        for target in self.targets:
            name = tracking_name(target.projection.name, self.topic, partition)
            took = apply_new(target.view, target.projection, name, events)
            if took:
                self._tracked[(target.projection.name, partition)] = took[-1]
            positions.update(took)
        self.applied += len(positions)
        if self.observe is not None and positions:
            self.observe(partition, sorted(positions))
        return len(positions)

    def _quarantine(self, refused: list[Quarantined]) -> None:
        new = self.quarantine.put(refused)
        for record in refused:
            self.quarantined += 1
            log.warning(
                "projector.quarantined",
                reason=record.reason,
                detail=record.detail[:300],
                source=record.source,
                event_id=record.event_id,
                position=record.position,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                again=record not in new,
            )

    def _commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        try:
            self.consumer.commit(offsets)
        except Exception as exc:
            # A rebalance took the partitions: their new owner reads these records again
            # and drops what the views already hold.
            log.warning("projector.commit_failed", error=repr(exc)[:300])

    def run(self, stop: threading.Event, timeout_ms: int = 500) -> None:
        """Consume until ``stop`` is set; a failed batch is read again after a backoff."""
        backoff = 0.0
        while not stop.is_set():
            try:
                self.poll_once(timeout_ms)
                backoff = 0.0
            except Exception:
                backoff = min(10.0, backoff * 2 or 0.2)
                log.exception("projector.batch_failed", retry_in=backoff)
                stop.wait(backoff)
        log.info(
            "projector.stopped",
            applied=self.applied,
            dropped=self.dropped,
            quarantined=self.quarantined,
        )

    def close(self) -> None:
        self.consumer.close()


def _quarantined(topic: str, record: Any, refused: Refused) -> Quarantined:
    return Quarantined(
        topic=topic,
        partition=record.partition,
        offset=record.offset,
        reason=refused.reason,
        detail=refused.detail,
        source=refused.source,
        event_id=refused.event_id,
        position=refused.position,
        key=record.key,
        value=record.value if record.value is not None else b"",
    )


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # kafka-python is untyped
    def __init__(self, source: KafkaSource) -> None:
        self.source = source

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.source.revoked(revoked)

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.source.assigned(assigned)
