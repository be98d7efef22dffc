"""The relay's watch: the store's head, the relay's position and lag, publish errors,
whether the broker answers (served by ``services.workers.stream_watch.Watch``)."""

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.metrics_core import Metric

from infra.config import Settings
from services.workers.stream_alarms import LagAlarm, Measured, StallAlarm, counter, gauge
from services.workers.stream_health import CAUGHT_UP, StreamStore


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
    def sending(self, events: int) -> None:  # noqa: ARG002 - the stall alarm needs only that a page left
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
