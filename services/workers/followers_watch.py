"""The watch of views that follow the store (``okrgov projector --source store``)."""

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from infra.config import Settings
from services.workers.stream_alarms import LagAlarm, Measured, gauge
from services.workers.stream_health import CAUGHT_UP, Lag, StreamStore


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
