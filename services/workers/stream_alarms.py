"""What a watching process keeps between measurements: the alarms that warn once when a
condition starts and once when it ends (never per poll), and the measuring itself, shared
by the sampling thread and the scrapes."""

import threading
import time
from contextlib import suppress
from typing import Any

import structlog
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily

from services.workers.stream_health import Lag

log = structlog.get_logger(__name__)

FRESH_SECONDS = 0.25
"""A scrape younger than this reuses the last measurement."""


class LagAlarm:
    """Warns once when a lag passes the threshold, and once when it is back under it."""

    def __init__(self, threshold: float, **context: Any) -> None:
        self.threshold = threshold
        self.context = context
        self.since: float | None = None

    @property
    def raised(self) -> bool:
        return self.since is not None

    def update(self, lag: Lag, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if lag.seconds > self.threshold and self.since is None:
            self.since = now
            log.warning(
                "stream.lagging",
                lag_seconds=round(lag.seconds, 1),
                lag_events=lag.events,
                threshold_seconds=self.threshold,
                **self.context,
            )
        elif lag.seconds <= self.threshold and self.since is not None:
            log.warning(
                "stream.lag_recovered",
                lasted_seconds=round(now - self.since, 1),
                lag_seconds=round(lag.seconds, 1),
                **self.context,
            )
            self.since = None


class StallAlarm:
    """The relay's pages waiting for the broker: warns once when the first unacknowledged
    page has waited more than ``threshold`` seconds, and once when a page is acknowledged
    again, with how long the broker stalled."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.waiting_since: float | None = None
        self.stalled = False

    def sending(self) -> None:
        if self.waiting_since is None:
            self.waiting_since = time.monotonic()

    def acknowledged(self, position: int) -> None:
        if self.stalled and self.waiting_since is not None:
            log.warning(
                "relay.broker_recovered",
                stalled_seconds=round(time.monotonic() - self.waiting_since, 1),
                position=position,
            )
        self.waiting_since, self.stalled = None, False

    def waiting(self) -> float:
        """Seconds the oldest unacknowledged page has waited (0: none waits)."""
        return 0.0 if self.waiting_since is None else time.monotonic() - self.waiting_since

    def check(self, position: int) -> None:
        waited = self.waiting()
        if not self.stalled and waited > self.threshold:
            self.stalled = True
            log.warning(
                "relay.broker_stalled",
                waiting_seconds=round(waited, 1),
                threshold_seconds=self.threshold,
                position=position,
            )


class Measured:
    """Measures on demand (at most every ``FRESH_SECONDS``) under a lock, so the sampling
    thread and the scrapes share one measurement and one set of alarms."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at = 0.0
        self.error: str | None = None

    def measure(self) -> None:
        raise NotImplementedError

    def fresh(self) -> None:
        """Measure unless the last measurement is recent; while one is under way (a slow
        database or broker) a scrape gets the last figures rather than waiting."""
        if not self._lock.acquire(timeout=0.5):
            return
        try:
            if time.monotonic() - self._at < FRESH_SECONDS:
                return
            try:
                self.measure()
            except Exception as exc:
                self._failed(exc)
                raise
            finally:
                self._at = time.monotonic()
            if self.error is not None:
                log.warning("stream.measure_recovered")
            self.error = None
        finally:
            self._lock.release()

    def _failed(self, exc: Exception) -> None:
        if self.error is None:  # once when it starts failing, not every second
            log.warning("stream.measure_failed", error=repr(exc)[:300])
        self.error = repr(exc)[:300]

    def tick(self) -> None:
        """One measurement by the sampling thread; a failure is logged once, not raised."""
        with suppress(Exception):
            self.fresh()


def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)
