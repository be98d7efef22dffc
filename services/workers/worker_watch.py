"""A Kafka projection worker's watch: per partition each view's tracked position, the
lag in events and seconds, and what was applied, dropped and quarantined."""

import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

import structlog
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from infra import kafka
from infra.config import Settings
from services.workers.stream_alarms import LagAlarm, Measured, counter, gauge
from services.workers.stream_health import CAUGHT_UP, Backlog, Lag, StreamStore, age, kafka_name

log = structlog.get_logger(__name__)


class GroupOffsets:
    """The topic's end offsets and the group's committed offsets, read by a consumer of
    the workers' group that never joins it (the worker's own consumer is not shared
    across threads)."""

    def __init__(self, settings: Settings) -> None:
        self.topic = settings.kafka_topic
        self.consumer = kafka.consumer(settings, client_id="okrgov-projector-watch")

    def partitions(self) -> list[int]:
        return sorted(self.consumer.partitions_for_topic(self.topic))

    def behind(self, partitions: Iterable[int]) -> dict[int, tuple[int, int]]:
        """Per partition: its end offset, and the group's committed offset (0: none)."""
        from kafka import TopicPartition

        tps = [TopicPartition(self.topic, p) for p in partitions]
        ends = self.consumer.end_offsets(tps, timeout_ms=5000)
        return {
            tp.partition: (ends.get(tp, 0), self.consumer.committed(tp, timeout_ms=5000) or 0)
            for tp in tps
        }

    def close(self) -> None:
        self.consumer.close(autocommit=False)


class WorkerWatch(Measured):
    """Watches one ``KafkaSource`` (attached once built): its views' tracked positions,
    the group's offsets and, with ``store``, the store itself."""

    def __init__(
        self, settings: Settings, store: StreamStore | None, offsets: GroupOffsets | None
    ) -> None:
        super().__init__()
        self.topic = settings.kafka_topic
        self.partition_count = settings.kafka_partitions
        self.store = store
        self.offsets = offsets
        self.alarm = LagAlarm(settings.lag_warn_seconds, process="projector", topic=self.topic)
        self.source: Any = None
        self.started = time.time()
        self._times: OrderedDict[int, Any] = OrderedDict()
        self._applied: dict[int, tuple[int, Any]] = {}
        """Per partition: the last position applied here, and its event's time."""
        self.head: int | None = None
        self._backlog: Backlog | None = None
        self.broker_error: str | None = None
        """Why the group's offsets could not be read, while they cannot."""
        self.partitions: dict[int, dict[str, Any]] = {}
        self.lag = CAUGHT_UP

    def attach(self, source: Any) -> None:
        self.source = source
        decode = source.decode

        def timed_decode(*args: Any, **kwargs: Any) -> Any:
            decoded = decode(*args, **kwargs)
            try:
                position, event = decoded[0], decoded[1]
                self._times[int(position)] = getattr(event, "timestamp", None)
                while len(self._times) > 10_000:
                    self._times.popitem(last=False)
            except (TypeError, ValueError, IndexError):
                pass
            return decoded

        source.decode = timed_decode

    def observe(self, partition: int, positions: list[int]) -> None:
        """``KafkaSource``'s callback: a batch of ``partition`` committed ``positions``."""
        last = max(positions)
        self._applied[partition] = (last, self._times.get(last))

    def _offsets(self) -> tuple[list[int], dict[int, tuple[int, int]]]:
        """The topic's partitions (empty: not known), offsets read later."""
        if self.offsets is None:
            return [], {}
        try:
            return self.offsets.partitions(), {}
        except Exception as exc:
            self._broker_failed(exc)
            return [], {}

    def _behind(self, numbers: list[int]) -> dict[int, tuple[int, int]]:
        assert self.offsets is not None
        try:
            found = self.offsets.behind(numbers)
        except Exception as exc:
            self._broker_failed(exc)
            return {}
        if self.broker_error is not None:
            log.warning("projector.offsets_available")
        self.broker_error = None
        return found

    def _broker_failed(self, exc: Exception) -> None:
        """The broker did not give offsets: lag counts against the store only (if known);
        logged once when it starts."""
        if self.broker_error is None:
            log.warning("projector.offsets_unavailable", error=repr(exc)[:300])
        self.broker_error = repr(exc)[:300]

    def _assigned(self) -> set[int]:
        consumer = getattr(self.source, "consumer", None)
        if consumer is None:
            return set()
        return {tp.partition for tp in consumer.assignment() if tp.topic == self.topic}

    def measure(self) -> None:
        if self.source is None:
            return
        now = time.time()
        all_partitions, behind = self._offsets()
        numbers = all_partitions or list(range(self.partition_count))
        assigned = self._assigned()
        tracked: dict[int, dict[str, int]] = {p: {} for p in numbers}
        for target in self.source.targets:
            projection = target.projection.name
            for p in numbers:
                tracked[p][projection] = (
                    target.view.max_tracking_id(kafka_name(projection, self.topic, p)) or 0
                )
        low = {p: min(by.values(), default=0) for p, by in tracked.items()}
        if all_partitions and not behind:
            behind = self._behind(numbers)
        store_lags: dict[int, Lag] = {}
        if self.store is not None:
            self.head = self.store.head()
            if self._backlog is None or self._backlog.partitions != len(numbers):
                self._backlog = Backlog(self.store, len(numbers))
            store_lags = self._backlog.update(low, now)
        partitions: dict[int, dict[str, Any]] = {}
        for p in numbers:
            end, committed = behind.get(p, (None, None))
            records = None if end is None else max(0, end - (committed or 0))
            if p in store_lags:
                lag = store_lags[p]
            else:
                applied_time = self._applied.get(p, (0, None))[1]
                pending = records or 0
                lag = Lag(pending, age(applied_time, now) if applied_time else 0.0)
                if pending and applied_time is None:
                    lag = Lag(pending, max(0.0, now - self.started))
            partitions[p] = {
                "assigned": p in assigned,
                "position": low[p],
                "positions": tracked[p],
                "end_offset": end,
                "committed_offset": committed,
                "lag_records": records,
                "lag": lag,
            }
        self.partitions = partitions
        mine = [v["lag"] for v in partitions.values() if v["assigned"]]
        self.lag = Lag(
            sum(lag.events for lag in mine),
            max((lag.seconds for lag in mine), default=0.0),
            any(lag.at_least for lag in mine),
        )
        self.alarm.update(self.lag)

    def counts(self) -> dict[str, int]:
        return {
            name: int(getattr(self.source, name, 0) or 0)
            for name in ("applied", "dropped", "quarantined")
        }

    def health(self) -> dict[str, Any]:
        self.fresh()
        mine = [v["position"] for v in self.partitions.values() if v["assigned"]]
        return {
            "status": "degraded" if self.alarm.raised or self.error or self.broker_error else "ok",
            "process": "projector",
            "topic": self.topic,
            "head": self.head,
            "position": min(mine) if mine else None,
            "lag": self.lag.as_dict(),
            "lag_against": "store" if self.store is not None else "end_offsets",
            "partitions": {
                str(p): {**v, "lag": v["lag"].as_dict()} for p, v in self.partitions.items()
            },
            **self.counts(),
            "error": self.error,
            "broker_error": self.broker_error,
        }

    def families(self) -> Iterator[Metric]:
        self.fresh()
        if self.head is not None:
            yield gauge(
                "okrgov_store_head_position", "Last position recorded in the store.", self.head
            )
        tracked = GaugeMetricFamily(
            "okrgov_projector_position",
            "Store position of the last event a view applied from a partition.",
            labels=["projection", "partition"],
        )
        lag_events = GaugeMetricFamily(
            "okrgov_projector_lag_events",
            "Events of a partition not yet applied (store events, or records up to the end "
            "offset when the store is not known).",
            labels=["partition"],
        )
        lag_seconds = GaugeMetricFamily(
            "okrgov_projector_lag_seconds",
            "Age of the oldest event of a partition not yet applied.",
            labels=["partition"],
        )
        lag_records = GaugeMetricFamily(
            "okrgov_projector_lag_records",
            "Records between the group's committed offset and the partition's end offset.",
            labels=["partition"],
        )
        assigned = GaugeMetricFamily(
            "okrgov_projector_assigned",
            "1 for a partition this worker holds.",
            labels=["partition"],
        )
        for p, v in sorted(self.partitions.items()):
            label = str(p)
            for projection, position in sorted(v["positions"].items()):
                tracked.add_metric([projection, label], position)
            lag_events.add_metric([label], v["lag"].events)
            lag_seconds.add_metric([label], v["lag"].seconds)
            if v["lag_records"] is not None:
                lag_records.add_metric([label], v["lag_records"])
            assigned.add_metric([label], 1 if v["assigned"] else 0)
        yield from (tracked, lag_events, lag_seconds, lag_records, assigned)
        for name, value in self.counts().items():
            yield counter(f"okrgov_projector_{name}_events", f"Events {name}.", value)
