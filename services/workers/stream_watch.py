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
from typing import Any

from infra.config import Settings
from infra.metrics import MetricsPortUnavailable, MetricsServer, registry_of
from services.workers.followers_watch import FollowersWatch
from services.workers.relay_watch import RelayWatch
from services.workers.stream_health import StreamStore
from services.workers.worker_watch import GroupOffsets, WorkerWatch

SAMPLE_SECONDS = 1.0
"""How often a watch measures (and so how soon it warns)."""


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
    from projections.backends import event_mapper
    from services.bootstrap import store_to_read

    factory = store_to_read(settings, url, schema)
    return StreamStore(factory.application_recorder(), mapper_factory=lambda: event_mapper(factory))


def _mapper(settings: Settings) -> Any:
    from projections.backends import event_mapper
    from services.bootstrap import store_to_read

    return event_mapper(store_to_read(settings))
