"""One follower for several views of one database: each batch of the notification log is
read once, each event decoded once, and every view's documents and tracking record are
written in one transaction (``projections.follower.feed``), instead of a read, a decode and
a write transaction per view. A process's request pays for one writer, not one per view.

Waiting for a view (read-your-writes) is notified, not polled: the follower tells the
waiters each time a view's position moves, from its own commits and from the positions it
reads (views fed by other processes too).

Each view keeps a handle of its own (``FedView``, a ``Follower``): caught up alone, started,
stopped and waited for by name, as ``ProjectionRunner`` and ``Platform.followers`` use a
follower. A view stopped alone is left out of the shared batches until it is started
again."""

import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import structlog
from eventsourcing.persistence import ApplicationRecorder, Mapper

from projections.documents import DocumentView, positions
from projections.follower import BATCH_SIZE, Follower, Projection, Target, feed

log = structlog.get_logger(__name__)

#: How long a waiter sleeps between asking the follower for a round, at most.
WAIT_SLICE = 0.05


class SharedFollower:
    """Feeds several views from one read of the store; see the module."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        views: Iterable[tuple[Projection, DocumentView]],
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self.batch_size = batch_size
        self.members: dict[str, FedView] = {}
        for projection, view in views:
            self.members[projection.name] = FedView(self, projection, view)
        datastores = {id(member.view.datastore) for member in self.members.values()}
        if len(datastores) > 1:
            raise ValueError("a shared follower writes views of one database only")
        self._running: frozenset[FedView] = frozenset()
        """The views the thread feeds: replaced whole, never changed in place, so the
        thread reads it while another thread starts or stops a view."""
        self._membership = threading.Lock()
        self._reached: dict[str, int] = {}
        self._changed = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._poll_seconds = 1.0

    # ---- feeding -----------------------------------------------------------------------

    def catch_up(self, members: Sequence["FedView"] | None = None) -> int:
        """Apply everything recorded so far to ``members`` (default: every view); returns
        how many events were applied, summed over the views."""
        chosen = list(self.members.values()) if members is None else list(members)
        batch_size = self.batch_size if members is None else min(m.batch_size for m in chosen)
        applied = 0
        while (took := self.step(chosen, batch_size)) is not None:
            applied += took
        return applied

    def step(self, members: Sequence["FedView"], batch_size: int | None = None) -> int | None:
        """One batch after the lowest position of ``members``, applied to each that has
        not applied it: how many events the views took together, or None when every one
        of them has everything recorded."""
        if not members:
            return None
        found = positions([member.view for member in members])
        self._saw((member.name, position) for member, position in zip(members, found, strict=True))
        after = min(found)
        notifications = self.recorder.select_notifications(
            start=after, limit=batch_size or self.batch_size, inclusive_of_start=False
        )
        if not notifications:
            return None
        targets = [Target(member.projection, member.view) for member in members]
        first = members[0].view
        with first.transaction(commit=True) as c:
            feed(c, targets, notifications, self.mapper, after)
        self._saw((target.name, target.tracked) for target in targets)
        return sum(target.applied for target in targets)

    # ---- positions, and waiting for them ------------------------------------------------

    def _saw(self, positions: Iterable[tuple[str, int]]) -> None:
        """Views' positions as just read or written: tell the waiters. A position read
        lower than the one known (a view reset) replaces it: a waiter must not be let
        through by a position the view no longer holds."""
        with self._changed:
            for name, position in positions:
                self._reached[name] = position
            self._changed.notify_all()

    def wait_for(self, member: "FedView", position: int, timeout: float) -> bool:
        """Block until ``member``'s view has reached ``position``; False when the bound
        ran out. Notified by this follower's rounds while it follows the view; a view it
        does not follow (stopped) is read from the database, as other processes may feed
        it."""
        deadline = time.monotonic() + timeout
        delay = 0.002
        while True:
            with self._changed:
                if self._reached.get(member.name, -1) >= position:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if self.follows(member):
                    self._wake.set()
                    self._changed.wait(min(remaining, WAIT_SLICE))
                    continue
            reached = member.view.position()
            self._saw([(member.name, reached)])
            if reached >= position:
                return True
            time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, WAIT_SLICE)

    def follows(self, member: "FedView") -> bool:
        """Whether this follower's thread is feeding ``member`` now."""
        thread = self._thread
        return member in self._running and thread is not None and thread.is_alive()

    # ---- background running ------------------------------------------------------------

    def start(self, poll_seconds: float, members: Iterable["FedView"] | None = None) -> None:
        """Feed ``members`` (default: every view) in the background from now on."""
        with self._membership:
            self._running |= frozenset(self.members.values() if members is None else members)
        self._poll_seconds = poll_seconds
        if self._thread is not None and self._thread.is_alive():
            self._wake.set()
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="follow-views", daemon=True)
        self._thread.start()

    def stop(self, members: Iterable["FedView"] | None = None) -> None:
        """Stop feeding ``members`` (default: every view); the thread ends with the last."""
        with self._membership:
            self._running -= frozenset(self.members.values() if members is None else members)
            if self._running:
                return
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        with self._changed:
            self._changed.notify_all()  # waiters go back to reading the database

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # a wake from here on asks for another round
            running = sorted(self._running, key=_name)
            try:
                applied = self.catch_up(running) if running else 0
                if applied:
                    log.debug("projection.caught_up", views=[m.name for m in running], n=applied)
            except Exception:
                log.exception("projection.failed", views=[m.name for m in running])
                self._stop.wait(self._poll_seconds)
            self._wake.wait(self._poll_seconds)


class FedView(Follower):
    """One view of a ``SharedFollower``, with a follower's interface: caught up alone
    (``catch_up``, ``step``, at its own ``batch_size``), started and stopped alone (left
    out of the shared batches meanwhile), waited for with the follower's notifications."""

    def __init__(self, shared: SharedFollower, projection: Projection, view: DocumentView) -> None:
        super().__init__(shared.recorder, shared.mapper, projection, view, shared.batch_size)
        self.shared = shared
        self.name = view.projection

    def catch_up(self) -> int:
        return self.shared.catch_up([self])

    def step(self) -> int | None:
        return self.shared.step([self], self.batch_size)

    def start(self, poll_seconds: float) -> None:
        self.shared.start(poll_seconds, [self])

    def stop(self) -> None:
        self.shared.stop([self])

    def wake(self) -> None:
        self.shared.wake()

    def wait_for(self, position: int, timeout: float) -> bool:
        return self.shared.wait_for(self, position, timeout)


def _name(member: FedView) -> str:
    return member.name
