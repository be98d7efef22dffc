"""Follows the notification log and feeds a projection in batches, each batch written with
its tracking record in one transaction: a restart resumes after the last recorded position,
so no event is missed or applied twice. Any number of followers, in any number of
processes, may feed the same view: each batch re-reads the view's position under a lock on
its tracking record (``DocumentView.apply_new``). Works by polling on SQLite and PostgreSQL
alike."""

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import structlog
from eventsourcing.persistence import ApplicationRecorder, Mapper

from projections.documents import DocumentBatch, DocumentView

log = structlog.get_logger(__name__)


class Projection(ABC):
    """Turns domain events into the documents of one read model. Must be a pure function
    of the events: no clock, no randomness, so a rebuild reproduces the same rows."""

    name: ClassVar[str]

    @abstractmethod
    def apply(self, event: Any, docs: DocumentBatch) -> None: ...


Handler = Callable[[Any, DocumentBatch], None]


class DispatchingProjection(Projection):
    """A projection whose ``handlers`` map each event class it reads to a function;
    events of other classes pass it by."""

    handlers: ClassVar[dict[type, Handler]]

    def apply(self, event: Any, docs: DocumentBatch) -> None:
        handler = self.handlers.get(type(event))
        if handler is not None:
            handler(event, docs)


def event_time(event: Any) -> str:
    """An event's own timestamp as ISO 8601: read models never use the wall clock."""
    return str(event.timestamp.isoformat())


class Follower:
    """Keeps one projection's view up to date with the event store."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        projection: Projection,
        view: DocumentView,
        batch_size: int = 500,
    ) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self.projection = projection
        self.view = view
        self.batch_size = batch_size
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def catch_up(self) -> int:
        """Apply everything recorded so far; returns how many events this follower applied
        (other followers of the same view, in this process or another, may apply some)."""
        applied = 0
        while (took := self.step()) is not None:
            applied += took
        return applied

    def step(self) -> int | None:
        """Read one batch after the view's position and apply what no other follower has
        applied meanwhile: how many events that was, or None when the view has everything
        recorded."""
        position = self.view.position()
        notifications = self.recorder.select_notifications(
            start=position, limit=self.batch_size, inclusive_of_start=False
        )
        if not notifications:
            return None
        events = [(n.id, self.mapper.to_domain_event(n)) for n in notifications]
        took = self.view.apply_new(self.view.projection, self.projection.apply, events, position)
        if len(took) < len(events):
            log.debug("projection.batch_shared", projection=self.projection.name)
        return len(took)

    # ---- background running ------------------------------------------------------------

    def start(self, poll_seconds: float) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(poll_seconds,), name=f"follow-{self.projection.name}"
        )
        self._thread.daemon = True
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _run(self, poll_seconds: float) -> None:
        while not self._stop.is_set():
            try:
                applied = self.catch_up()
                if applied:
                    log.debug("projection.caught_up", projection=self.projection.name, n=applied)
            except Exception:
                log.exception("projection.failed", projection=self.projection.name)
                self._stop.wait(poll_seconds)
            self._wake.wait(poll_seconds)
            self._wake.clear()

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until the view has reached ``position``; False when the bound ran out."""
        deadline = time.monotonic() + timeout
        delay = 0.002
        while self.view.position() < position:
            if time.monotonic() >= deadline:
                return False
            self.wake()
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return True
