"""The read models of one process: their followers run in the background, rebuilt aside,
and waited for so that a caller reads its own writes.

Read-your-writes names the views it waits for. The ledger records an event at a store
position and each view catches up a moment later, each at its own pace: the OKR state and
the governance view are small documents, the audit trail writes an entry per event, and
the leaf log hashes every raw row. A write's answer is read from one view (the OKR state
for an OKR command, the governance view for a policy), so waiting for every view would
make each write pay for the audit trail and the leaf log, which its answer never reads.
``wait_for`` therefore has no "every view" default: each caller names the views its
answer reads, and the caller's next read of any other view waits for that view then."""

import threading
from collections.abc import Callable, Collection, Mapping
from typing import Final

from projections.audit import AuditTrail
from projections.documents import DocumentView
from projections.entries import EntryView
from projections.follower import Follower
from projections.governance import Governance
from projections.leaf_log import LEAF_LOG
from projections.okr_state import OkrState
from projections.rebuild import Aside, Rebuilt, aside_name, rebuild_together
from projections.shared import FedView, SharedFollower

#: The views a process follows, by the names a wait is declared with.
OKR_STATE: Final = OkrState.name
GOVERNANCE: Final = Governance.name
AUDIT: Final = AuditTrail.name

#: An empty view of the same kind over the same database, from its name and whether it
#: keeps a table of entries: where a rebuild replays a view before switching it in.
OpenAside = Callable[[str, bool], DocumentView]


class ViewBehind(Exception):
    """A view did not reach the position a caller waits for within the bound."""

    def __init__(self, view: str, position: int) -> None:
        super().__init__(f"the {view} view has not reached position {position}")
        self.view = view
        self.position = position


class ProjectionRunner:
    """The followers of one process, by view name, and the positions its users wrote at.

    The mapping is the process's own (``Platform.followers``): a follower added to it or
    replaced in it is the one this runner starts, waits for and rebuilds."""

    def __init__(self, followers: Mapping[str, Follower]) -> None:
        self.followers = followers
        self._last_write: dict[str, int] = {}
        self._lock = threading.Lock()

    def follower(self, name: str) -> Follower:
        """The follower of the view called ``name``; ``KeyError`` naming the views there
        are when this process follows no such view (a wait declared with a typo)."""
        try:
            return self.followers[name]
        except KeyError:
            raise KeyError(
                f"no view {name!r}; the views are: {', '.join(self.followers)}"
            ) from None

    def view(self, name: str) -> DocumentView:
        return self.follower(name).view

    def entries(self, name: str) -> EntryView:
        view = self.view(name)
        assert isinstance(view, EntryView), f"the {name} view keeps no entries"
        return view

    # ---- running -----------------------------------------------------------------------

    def _runs(self) -> list[Follower | SharedFollower]:
        """What runs the followers: a view fed by a shared follower is run by it, once
        for all its views; any other follower by itself."""
        runs: dict[int, Follower | SharedFollower] = {}
        for follower in self.followers.values():
            run = follower.shared if isinstance(follower, FedView) else follower
            runs.setdefault(id(run), run)
        return list(runs.values())

    def start(self, poll_seconds: float) -> None:
        """Apply what is recorded, then follow the store in the background."""
        for run in self._runs():
            run.catch_up()
            run.start(poll_seconds)

    def stop(self) -> None:
        for run in self._runs():
            run.stop()

    def catch_up(self) -> None:
        """Apply everything recorded so far to every view, in this thread."""
        for run in self._runs():
            run.catch_up()

    def resize(self, batch_size: int) -> None:
        """Read and apply ``batch_size`` events per transaction from now on."""
        for follower in self.followers.values():
            follower.batch_size = batch_size
            if isinstance(follower, FedView):
                follower.shared.batch_size = batch_size

    def rebuild(
        self, open_aside: OpenAside, progress: Callable[[str, int], None] | None = None
    ) -> list[Rebuilt]:
        """Replay the whole store into each derived view, built aside (``open_aside``)
        and switched in, the views of one shared follower in one pass over the store;
        ``progress`` is told each view's name and the position its replay has reached.
        The leaf log is evidence, never re-derived from the rows as they are now, so it is
        left as it is. The caller holds the store's rebuild lock."""
        rebuilt = []
        for run in self._runs():
            views: list[Follower]
            if isinstance(run, SharedFollower):
                views = list(run.members.values())
                recorder, mapper, batch_size = run.recorder, run.mapper, run.batch_size
            elif run.projection.name != LEAF_LOG:
                views = [run]
                recorder, mapper, batch_size = run.recorder, run.mapper, run.batch_size
            else:
                continue
            asides = [
                Aside(view.projection, view.view, _aside(open_aside, view.view)) for view in views
            ]
            rebuilt += rebuild_together(recorder, mapper, asides, batch_size, progress)
        return rebuilt

    # ---- read-your-writes --------------------------------------------------------------

    def wrote(self, user: str, position: int) -> None:
        """Remember a user's latest write, so the user's next read of any view waits for
        it; wake the views' followers, so none waits for its next poll to apply it.

        The leaf log is not woken: no write's answer reads it, and woken by every write it
        took a write transaction of its own per request (a second writer on SQLite's one
        lock). It catches up on its poll, a page at a time, and whoever reads it (verify,
        a proof, the integrity route) waits for it, which wakes it."""
        with self._lock:
            self._last_write[user] = max(position, self._last_write.get(user, 0))
        leaf_log = self.followers.get(LEAF_LOG)
        for run in self._runs():
            if run is not leaf_log:
                run.wake()

    def last_write(self, user: str) -> int:
        with self._lock:
            return self._last_write.get(user, 0)

    def wait_for(self, user: str, position: int, *, views: Collection[str], timeout: float) -> None:
        """Block until each of ``views`` has reached ``position`` and the user's last
        write, each within ``timeout`` seconds (``ViewBehind`` naming the first that did
        not). Only the views named are waited for: the others may still be behind."""
        if not views:
            raise ValueError("name the views the answer reads")
        followers = [self.follower(name) for name in views]
        target = max(position, self.last_write(user))
        if target <= 0:
            return
        for follower in followers:
            if not follower.wait_for(target, timeout):
                raise ViewBehind(follower.projection.name, target)


def _aside(open_aside: OpenAside, live: DocumentView) -> DocumentView:
    """An empty view to build ``live`` aside in, without the secondary indexes of its
    entries (if it keeps any): it is only written, then copied into the live view, whose
    own indexes take the rows."""
    aside = open_aside(aside_name(live.projection), isinstance(live, EntryView))
    if isinstance(aside, EntryView):
        aside.drop_indexes()
    return aside
