"""Positions and lag of the event stream, computed from the store and the tracking tables:
how far the relay and each view have got, in events and in seconds.

Lag in seconds is the age of the oldest event not yet handled (published by the relay,
applied by a view): 0 when caught up, growing while something is stuck even if nothing
new is recorded. Each Kafka partition is followed on its own, so a worker's lag is
counted per partition: the store's events after that partition's tracked position whose
aggregate the relay's producer sends to that partition (Kafka's default partitioner,
murmur2 of the record key)."""

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper, StoredEvent

from infra import kafka
from infra.stored_events import StoredEvents, StoredRow

SCAN_LIMIT = 100_000
"""The most store rows one per-partition lag update reads; past it the counts are lower
bounds (``Lag.at_least``) until a later update reaches the head."""


@dataclass(frozen=True)
class Lag:
    events: int
    """Events not yet handled."""
    seconds: float
    """Age of the oldest of them (0 when caught up)."""
    at_least: bool = False
    """The count stopped at ``SCAN_LIMIT`` rows: the real lag is larger."""

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"events": self.events, "seconds": round(self.seconds, 3)}
        if self.at_least:
            found["at_least"] = True
        return found


CAUGHT_UP = Lag(0, 0.0)


@lru_cache(maxsize=65536)
def partition_of(originator_id: str | UUID, partitions: int) -> int:
    """The partition the relay's records of this aggregate go to: the record key is the
    aggregate id as text, hashed as Kafka's default partitioner does (remembered for the
    aggregates seen lately: murmur2 in Python is slow, and aggregates recur)."""
    subject = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
    return kafka.partition_of(subject, partitions)


def _timestamp(state: bytes | None) -> datetime | None:
    """The event's own timestamp from its stored JSON state (the transcoder's
    ``datetime_iso``), without decoding the event; None for compressed or enciphered
    state."""
    try:
        data = json.loads(state or b"")
    except (UnicodeDecodeError, ValueError):
        return None
    stamp = data.get("timestamp") if isinstance(data, dict) else None
    if isinstance(stamp, dict) and stamp.get("_type_") == "datetime_iso":
        return _aware(datetime.fromisoformat(stamp["_data_"]))
    return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def age(moment: datetime | None, now: float) -> float:
    """Seconds from ``moment`` to ``now`` (a ``time.time()``), never negative."""
    return 0.0 if moment is None else max(0.0, now - moment.timestamp())


class StreamStore(StoredEvents):
    """The store as the stream's watchers read it: its head, the time of an event, and
    the events not yet handled after a position (per partition, for Kafka workers)."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        mapper: Mapper[Any] | None = None,
        mapper_factory: Callable[[], Mapper[Any]] | None = None,
    ):
        super().__init__(recorder)
        self.mapper = mapper
        """Decodes an event whose stored state is not plain JSON, for its timestamp."""
        self.mapper_factory = mapper_factory
        """Makes ``mapper`` when first needed."""

    def head(self) -> int:
        """The last position recorded."""
        return self.recorder.max_notification_id() or 0

    def time_of(self, row: StoredRow) -> datetime | None:
        found = _timestamp(row.state)
        if found is not None or row.originator_id is None:
            return found
        if self.mapper is None and self.mapper_factory is not None:
            self.mapper = self.mapper_factory()
        if self.mapper is None:
            return None
        event = self.mapper.to_domain_event(
            StoredEvent(
                originator_id=UUID(row.originator_id),
                originator_version=row.originator_version or 0,
                topic=row.topic or "",
                state=row.state or b"",
            )
        )
        moment = getattr(event, "timestamp", None)
        return _aware(moment) if isinstance(moment, datetime) else None

    def time_at(self, position: int) -> datetime | None:
        """When the event at ``position`` (or the first one after it) was recorded."""
        found = self.page(position - 1, 1) if position > 0 else []
        return self.time_of(found[0]) if found else None

    def lag(self, position: int, now: float | None = None, head: int | None = None) -> Lag:
        """How far ``position`` is behind the head: events after it, and the age of the
        first of them."""
        head = self.head() if head is None else head
        if head <= position:
            return CAUGHT_UP
        now = time.time() if now is None else now
        return Lag(head - position, age(self.time_at(position + 1), now))

    def keys_after(self, after: int, limit: int) -> list[tuple[int, str]]:
        """Position and aggregate id of up to ``limit`` events after ``after``."""
        sql = self._sql(
            "SELECT {pos} AS position, originator_id FROM {table} "
            "WHERE {pos} > ? ORDER BY {pos} LIMIT ?"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, (after, limit))
            return [(r["position"], str(r["originator_id"])) for r in c.fetchall()]

    def partition_lags(
        self,
        tracked: Mapping[int, int],
        partitions: int,
        now: float | None = None,
        limit: int = SCAN_LIMIT,
    ) -> dict[int, Lag]:
        """The lag of each partition in ``tracked`` (partition -> tracked position), read
        once (``Backlog`` keeps it up to date instead)."""
        return Backlog(self, partitions, limit).update(tracked, now)


class Backlog:
    """The store's events each partition has not applied yet, kept up to date by reading
    only the events recorded since the last update (the store only grows, and an event's
    partition never changes). The first update reads from the lowest tracked position, up
    to ``limit`` rows per update; until it reached the head the counts are lower bounds.
    Memory holds the positions not yet applied, nothing more."""

    def __init__(self, store: StreamStore, partitions: int, limit: int = SCAN_LIMIT) -> None:
        self.store = store
        self.partitions = partitions
        self.limit = limit
        self._read_to: int | None = None
        self._tracked: dict[int, int] = {}
        self._pending: dict[int, list[int]] = {}

    def update(self, tracked: Mapping[int, int], now: float | None = None) -> dict[int, Lag]:
        if not tracked:
            return {}
        now = time.time() if now is None else now
        if self._read_to is None or any(
            at < self._tracked.get(p, 0) or p not in self._tracked for p, at in tracked.items()
        ):
            # First update, or a view reset (rebuilt): read again from the lowest position.
            self._read_to = min(tracked.values())
            self._pending = {}
        self._tracked = dict(tracked)
        complete = self._read()
        for p in list(self._pending):
            self._pending[p] = [x for x in self._pending[p] if x > tracked.get(p, 0)]
        lags = {}
        for p in tracked:
            waiting = self._pending.get(p, [])
            seconds = age(self.store.time_at(waiting[0]), now) if waiting else 0.0
            lags[p] = Lag(len(waiting), seconds, at_least=not complete)
        return lags

    def _read(self) -> bool:
        """Read the events recorded since the last update; False if ``limit`` stopped it
        before the head."""
        assert self._read_to is not None
        rows = self.store.keys_after(self._read_to, self.limit)
        for position, originator_id in rows:
            partition = partition_of(originator_id, self.partitions)
            if position > self._tracked.get(partition, 0):
                self._pending.setdefault(partition, []).append(position)
        if rows:
            self._read_to = rows[-1][0]
        return len(rows) < self.limit


# ---- positions recorded in tracking tables ------------------------------------------------


@dataclass
class ViewPositions:
    """Where one projection's view in some database has got: followed from the store
    (``store``), or from each Kafka partition (``partitions``)."""

    projection: str
    store: int = 0
    partitions: dict[int, int] = field(default_factory=dict)
    present: bool = True
    """False when the view's tables do not exist in that database."""


def kafka_name(projection: str, topic: str, partition: int) -> str:
    """The tracking name of a projection fed from one partition of ``topic`` (as
    ``services.workers.kafka_source.tracking_name``)."""
    return f"{projection}@{topic}:{partition}"


def tracked_names(view: Any, names: Iterable[str]) -> dict[str, int]:
    """The recorded position of each of ``names`` in a tracking recorder (0: none)."""
    return {name: view.max_tracking_id(name) or 0 for name in names}
