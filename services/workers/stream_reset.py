"""``okrgov projector --reset``: rebuild a Kafka worker's views on purpose.

Only the worker's own database is touched (views that follow the store are refused, as
for every Kafka worker), and only while its consumer group is empty: the group's offsets
are committed first, which the broker refuses while any worker of the group is a member.
Then the views and their tracked positions on the topic are cleared and rebuilt:

- from the topic: the group's offsets go back to the beginning and the topic is read up
  to its end as it was when the reset began, every record admitted or quarantined as a
  worker does; workers started afterwards carry on from there;
- from the store: the store's events (``--store-url``/``--store-schema``) are applied
  directly, and every partition's position is recorded as the last one applied, so the
  workers then drop what the views hold and apply what is newer. The group's offsets
  stay where they were."""

import threading
from dataclasses import dataclass, field
from typing import Any

import structlog
from eventsourcing.persistence import ApplicationRecorder
from kafka import OffsetAndMetadata, TopicPartition
from kafka.errors import KafkaError

from infra.config import Settings
from services.workers.kafka_source import KafkaSource, apply_new, tracking_name

log = structlog.get_logger(__name__)


class GroupActive(RuntimeError):
    """Workers of the group are running: a reset under them would race their writes."""


@dataclass
class ResetSummary:
    origin: str
    topic: str
    group: str
    partitions: int
    position: int = 0
    """The highest store position the rebuilt views hold."""
    read: int = 0
    applied: int = 0
    dropped: int = 0
    quarantined: int = 0
    documents: dict[str, int] = field(default_factory=dict)
    complete: bool = True

    def lines(self) -> list[str]:
        counts = ", ".join(f"{name} {n}" for name, n in self.documents.items())
        found = [
            f"reset from the {self.origin}: topic {self.topic}, group {self.group}, "
            f"{self.partitions} partitions; views cleared and rebuilt",
        ]
        if self.origin == "topic":
            found.append(
                f"records read {self.read}: applied {self.applied}, dropped {self.dropped} "
                f"(duplicates), quarantined {self.quarantined}"
            )
        else:
            found.append(f"events applied {self.applied}")
        found.append(f"position {self.position}; documents: {counts}")
        if not self.complete:
            found.append("interrupted: run the reset again before starting the workers")
        return found


def _partitions(source: KafkaSource) -> list[TopicPartition]:
    numbers = source.consumer.partitions_for_topic(source.topic)
    if not numbers:
        raise KafkaError(f"no partitions known for {source.topic}")
    return [TopicPartition(source.topic, n) for n in sorted(numbers)]


def _claim_group(source: KafkaSource, settings: Settings, rewind: bool) -> list[TopicPartition]:
    """Assign every partition to this process and commit the group's offsets (the
    beginning when ``rewind``, else where they are): refused while the group has members."""
    partitions = _partitions(source)
    consumer = source.consumer
    consumer.assign(partitions)
    beginnings = consumer.beginning_offsets(partitions)
    offsets = {
        tp: OffsetAndMetadata(
            beginnings[tp] if rewind else (consumer.committed(tp) or beginnings[tp]), "", -1
        )
        for tp in partitions
    }
    try:
        consumer.commit(offsets)
    except KafkaError as exc:
        raise GroupActive(
            f"the consumer group {settings.kafka_group} has running workers ({exc!r}): stop "
            "them first (a killed worker leaves the group after OKRGOV_KAFKA_SESSION_TIMEOUT_MS)"
        ) from None
    return partitions


def _documents(source: KafkaSource) -> dict[str, int]:
    return {t.projection.name: len(t.view.dump()) for t in source.targets}


def reset_from_topic(
    source: KafkaSource, settings: Settings, stop: threading.Event | None = None
) -> ResetSummary:
    """Clear the views and read the topic from the beginning to its current end."""
    stop = stop or threading.Event()
    partitions = _claim_group(source, settings, rewind=True)
    source.clear(len(partitions))
    source.assign(partitions)
    for tp in partitions:
        source.consumer.seek_to_beginning(tp)
    ends = source.consumer.end_offsets(partitions)
    summary = ResetSummary("topic", source.topic, settings.kafka_group, len(partitions))
    before = (source.applied, source.dropped, source.quarantined)

    def seen() -> int:
        return source.applied + source.dropped + source.quarantined

    # To the end offsets as they were, and on until a poll brings nothing more (some
    # Kafka-protocol brokers report end offsets below the last record's).
    while not stop.is_set():
        count = seen()
        source.poll_once(500)
        behind = any(source.consumer.position(tp) < ends[tp] for tp in partitions)
        if not behind and seen() == count:
            break
    summary.read = seen() - sum(before)
    summary.complete = not stop.is_set()
    summary.applied = source.applied - before[0]
    summary.dropped = source.dropped - before[1]
    summary.quarantined = source.quarantined - before[2]
    summary.position = max((source.position(tp.partition) for tp in partitions), default=0)
    summary.documents = _documents(source)
    return summary


def reset_from_store(
    source: KafkaSource,
    settings: Settings,
    notifications: ApplicationRecorder,
    mapper: Any,
    page_size: int = 500,
    stop: threading.Event | None = None,
) -> ResetSummary:
    """Clear the views and apply the events of the store ``notifications`` reads."""
    stop = stop or threading.Event()
    partitions = _claim_group(source, settings, rewind=False)
    source.clear(len(partitions))
    summary = ResetSummary("store", source.topic, settings.kafka_group, len(partitions))
    after = 0
    while not stop.is_set():
        page = notifications.select_notifications(start=after + 1, limit=page_size)
        if not page:
            break
        events = [(n.id, mapper.to_domain_event(n)) for n in page]
        applied: set[int] = set()
        for target in source.targets:
            name = tracking_name(target.projection.name, source.topic, 0)
            applied.update(apply_new(target.view, target.projection, name, events))
        summary.applied += len(applied)
        after = page[-1].id
    if stop.is_set():
        # Records above ``after`` may lie behind the group's offsets: tracking a partial
        # rebuild would lose them. Leave the views empty instead.
        source.clear(len(partitions))
        summary.complete = False
        return summary
    source.track_all(len(partitions), after)
    summary.position = after
    summary.documents = _documents(source)
    return summary
