"""Watching the stream from inside the relay and the projection workers: each measures its
position and lag every second, warns in the log when the broker stalls or the lag passes
``OKRGOV_LAG_WARN_SECONDS`` (once when it starts, once when it ends, with how long it
lasted), and serves the figures on ``/metrics`` and ``/healthz`` (``infra.metrics``) when
given a port.

Relay: the store's head, the relay's recorded position, its lag (events, and the age of
the oldest unpublished event), publish errors, whether the broker answers, when a page
was last acknowledged. Worker: per partition the tracked position of each projection,
the lag in events (against the store when the worker is told where it is, else against
the partition's end offset: records not yet committed by the group) and in seconds, and
the events applied, dropped as duplicates and quarantined."""

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

import structlog
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from infra import kafka
from infra.config import Settings
from infra.metrics import MetricsPortUnavailable, MetricsServer, registry_of
from services.workers.stream_alarms import LagAlarm, Measured, StallAlarm, counter, gauge
from services.workers.stream_health import CAUGHT_UP, Backlog, Lag, StreamStore, age, kafka_name

log = structlog.get_logger(__name__)

SAMPLE_SECONDS = 1.0
"""How often a watch measures (and so how soon it warns)."""


# ---- the relay -----------------------------------------------------------------------------


class RelayWatch(Measured):
    """Watches a relay, which tells it of each page (``services.workers.relay.PageObserver``)."""

    def __init__(self, relay: Any, store: StreamStore, settings: Settings) -> None:
        super().__init__()
        self.relay = relay
        self.store = store
        self.topic = settings.kafka_topic
        self.stall = StallAlarm(settings.stall_warn_seconds)
        self.alarm = LagAlarm(settings.lag_warn_seconds, process="relay", topic=self.topic)
        self.published = 0
        self.errors = 0
        self.reachable = True
        self.last_flush: float | None = None
        """When the broker last acknowledged a page (``time.time()``)."""
        self.last_error: str | None = None
        self.head = 0
        self.position = 0
        self.lag = CAUGHT_UP

    # what the relay tells
    def sending(self, events: int) -> None:
        self.stall.sending()

    def acknowledged(self, events: int, position: int) -> None:
        self.published += events
        self.last_flush = time.time()
        self.reachable = True
        self.stall.acknowledged(position)

    def failed(self, error: Exception) -> None:
        self.errors += 1
        self.reachable = False
        self.last_error = repr(error)[:300]

    # what the watch measures
    def measure(self) -> None:
        self.head = self.store.head()
        self.position = self.relay.position()
        self.lag = self.store.lag(self.position, head=self.head)
        self.stall.check(self.position)
        self.alarm.update(self.lag)

    def broker_answers(self) -> bool:
        return self.reachable and not self.stall.stalled

    def health(self) -> dict[str, Any]:
        self.fresh()
        degraded = self.alarm.raised or not self.broker_answers() or self.error
        return {
            "status": "degraded" if degraded else "ok",
            "process": "relay",
            "topic": self.topic,
            "head": self.head,
            "position": self.position,
            "lag": self.lag.as_dict(),
            "broker_reachable": self.broker_answers(),
            "waiting_seconds": round(self.stall.waiting(), 3),
            "publish_errors": self.errors,
            "last_flush": self.last_flush,
            "last_error": self.last_error,
            "error": self.error,
        }

    def families(self) -> Iterator[Metric]:
        self.fresh()
        yield gauge("okrgov_store_head_position", "Last position recorded in the store.", self.head)
        yield gauge(
            "okrgov_relay_position", "Last position the broker acknowledged.", self.position
        )
        yield gauge(
            "okrgov_relay_lag_events", "Events recorded, not yet published.", self.lag.events
        )
        yield gauge(
            "okrgov_relay_lag_seconds", "Age of the oldest unpublished event.", self.lag.seconds
        )
        yield gauge(
            "okrgov_relay_broker_reachable",
            "1 while the broker acknowledges pages, 0 while they fail or wait too long.",
            1 if self.broker_answers() else 0,
        )
        yield gauge(
            "okrgov_relay_waiting_seconds",
            "How long the oldest unacknowledged page has waited.",
            self.stall.waiting(),
        )
        yield gauge(
            "okrgov_relay_last_flush_timestamp_seconds",
            "When the broker last acknowledged a page (Unix time; 0: not yet).",
            self.last_flush or 0.0,
        )
        yield counter(
            "okrgov_relay_published_events", "Events the broker acknowledged.", self.published
        )
        yield counter(
            "okrgov_relay_publish_errors", "Pages the broker did not acknowledge.", self.errors
        )


# ---- the projection workers ----------------------------------------------------------------


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


# ---- views following the store (okrgov projector --source store) -----------------------------


class FollowersWatch(Measured):
    """Watches the views a process follows from the store (``Platform.followers``)."""

    def __init__(self, platform: Any, settings: Settings) -> None:
        super().__init__()
        self.followers = platform.followers
        self.store = StreamStore(platform.ledger.recorder, platform.ledger.mapper)
        self.alarm = LagAlarm(settings.lag_warn_seconds, process="projector", source="store")
        self.head = 0
        self.views: dict[str, tuple[int, Lag]] = {}
        self.lag = CAUGHT_UP

    def measure(self) -> None:
        positions = {name: f.view.position() for name, f in self.followers.items()}
        self.head, now = self.store.head(), time.time()
        self.views = {
            name: (at, self.store.lag(at, now, self.head)) for name, at in positions.items()
        }
        lags = [lag for _, lag in self.views.values()]
        self.lag = Lag(
            max((g.events for g in lags), default=0), max((g.seconds for g in lags), default=0.0)
        )
        self.alarm.update(self.lag)

    def health(self) -> dict[str, Any]:
        self.fresh()
        return {
            "status": "degraded" if self.alarm.raised or self.error else "ok",
            "process": "projector",
            "source": "store",
            "head": self.head,
            "lag": self.lag.as_dict(),
            "projections": {
                name: {"position": at, "lag": lag.as_dict()}
                for name, (at, lag) in sorted(self.views.items())
            },
            "error": self.error,
        }

    def families(self) -> Iterator[Metric]:
        self.fresh()
        yield gauge("okrgov_store_head_position", "Last position recorded in the store.", self.head)
        position = GaugeMetricFamily(
            "okrgov_view_position", "Last store position a view applied.", labels=["projection"]
        )
        events = GaugeMetricFamily(
            "okrgov_view_lag_events", "Events a view has not applied yet.", labels=["projection"]
        )
        seconds = GaugeMetricFamily(
            "okrgov_view_lag_seconds",
            "Age of the oldest event a view has not applied yet.",
            labels=["projection"],
        )
        for name, (at, lag) in sorted(self.views.items()):
            position.add_metric([name], at)
            events.add_metric([name], lag.events)
            seconds.add_metric([name], lag.seconds)
        yield from (position, events, seconds)


# ---- running a watch -----------------------------------------------------------------------


class Watch:
    """A watch measured every ``SAMPLE_SECONDS`` in a thread of its own, and served over
    HTTP when given a port."""

    def __init__(
        self, watched: RelayWatch | WorkerWatch | FollowersWatch, host: str, port: int
    ) -> None:
        self.watched = watched
        try:
            self.server = (
                MetricsServer(registry_of(watched.families), watched.health, host, port)
                if port
                else None
            )
        except MetricsPortUnavailable as exc:
            # A configuration error of the process, said in one line and exit status 1.
            raise SystemExit(f"error: {exc}") from None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stream-watch", daemon=True)

    def start(self) -> "Watch":
        self._thread.start()
        if self.server is not None:
            self.server.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.watched.tick()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self.server is not None:
            self.server.close()
        offsets = getattr(self.watched, "offsets", None)
        if offsets is not None:
            offsets.close()


def port_of(settings: Settings, option: int | None) -> int:
    return settings.metrics_port if option is None else option


def watch_relay(settings: Settings, relay: Any, port: int | None = None) -> Watch:
    """Watch ``relay`` (a ``services.workers.relay.Relay``), which reports its pages to the watch;
    started, with its endpoint when a port is set."""
    store = StreamStore(relay.stored.recorder, mapper_factory=lambda: _mapper(settings))
    watched = RelayWatch(relay, store, settings)
    relay.observer = watched
    return Watch(watched, settings.metrics_host, port_of(settings, port)).start()


def worker_watch(
    settings: Settings, store_url: str | None, store_schema: str | None
) -> WorkerWatch:
    """A watch for a projection worker, before its ``KafkaSource`` is built (give that
    ``observe=watch.observe``); with ``store_url``, lag is counted against the store."""
    return WorkerWatch(settings, store_reader(settings, store_url, store_schema), None)


def watch_worker(
    settings: Settings, watched: WorkerWatch, source: Any, port: int | None = None
) -> Watch:
    """Start watching ``source`` (a ``KafkaSource``), with its endpoint when a port is set."""
    watched.attach(source)
    watched.offsets = GroupOffsets(settings)
    return Watch(watched, settings.metrics_host, port_of(settings, port)).start()


def watch_followers(settings: Settings, platform: Any, port: int | None = None) -> Watch:
    """Watch the store-following views of ``platform`` (a ``services.bootstrap.Platform``)."""
    watched = FollowersWatch(platform, settings)
    return Watch(watched, settings.metrics_host, port_of(settings, port)).start()


def store_reader(settings: Settings, url: str | None, schema: str | None) -> StreamStore | None:
    """The store at ``url``/``schema`` (read only: never creates a table), or None."""
    if not (url or schema):
        return None
    from services.store_access import store_factory

    at = settings.model_copy(
        update={
            "database_url": url or settings.database_url,
            "database_schema": schema or settings.database_schema,
            "create_tables": False,
        }
    )
    factory = store_factory(at)
    return StreamStore(factory.application_recorder(), mapper_factory=lambda: _mapper(at))


def _mapper(settings: Settings) -> Any:
    from services.store_access import ledger_mapper, store_factory

    return ledger_mapper(store_factory(settings.model_copy(update={"create_tables": False})))
