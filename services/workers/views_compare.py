"""``okrgov projections compare``: a worker's views checked against the store, row for row.

The store's events are projected into scratch views (an in-memory SQLite database,
dropped after) up to the positions the worker's views have tracked: for a Kafka worker,
per partition, only the events of that partition up to its tracked position (what the
worker has had the chance to see); for views followed from the store, every event up to
their position. Every row of both is then compared: documents by kind and id, entries by
position, links by aggregate and version."""

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper, Tracking
from eventsourcing.sqlite import SQLiteDatastore

from projections.backends import view_for
from projections.documents import DocumentBatch, DocumentView
from projections.follower import Projection
from services.workers.stream_health import (
    Backlog,
    StreamStore,
    ViewPositions,
    kafka_name,
    partition_of,
)

PAGE = 1000


def open_view(datastore: object, projection: type[Projection]) -> DocumentView:
    """A projection's view in ``datastore``, as it is: no table is created."""
    return view_for(datastore, projection, create=False)


def positions_of(view: DocumentView, topic: str, partitions: int) -> ViewPositions:
    """Where ``view`` has got: from the store, and from each partition of ``topic``."""
    name = view.projection
    try:
        store = view.max_tracking_id(name) or 0
        by_partition = {
            p: view.max_tracking_id(kafka_name(name, topic, p)) or 0 for p in range(partitions)
        }
    except Exception:  # no tracking table: the view was never made in that database
        return ViewPositions(name, present=False)
    return ViewPositions(name, store, {p: at for p, at in by_partition.items() if at})


def rows_of(view: DocumentView) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """Every row of a view by table and key: documents by (kind, id), entries by
    position, links by (aggregate id, version)."""
    tables: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {
        "docs": {(r[0], r[1]): r for r in view.dump()}
    }
    dump_entries = getattr(view, "dump_entries", None)
    if dump_entries is not None:
        tables["entries"] = {(r[0],): r for r in dump_entries()}
    dump_links = getattr(view, "dump_links", None)
    if dump_links is not None:
        tables["links"] = {(r[0], r[1]): r for r in dump_links()}
    return tables


@dataclass
class Difference:
    table: str
    key: tuple[Any, ...]
    change: str
    """``missing`` (in the worker's view), ``extra`` (only there) or ``different``."""

    def __str__(self) -> str:
        key = " ".join(str(part) for part in self.key)
        return f"{self.change} {self.table} {key}"


@dataclass
class ViewReport:
    projection: str
    compared: dict[str, int] = field(default_factory=dict)
    """Rows compared per table."""
    differences: list[Difference] = field(default_factory=list)
    reached: str = ""
    """Which positions were compared (from the store up to N, or per partition)."""
    present: bool = True


def differences(
    expected: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]],
    found: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]],
) -> Iterator[Difference]:
    for table in sorted(set(expected) | set(found)):
        want, have = expected.get(table, {}), found.get(table, {})
        for key in sorted(set(want) | set(have), key=str):
            if key not in have:
                yield Difference(table, key, "missing")
            elif key not in want:
                yield Difference(table, key, "extra")
            elif want[key] != have[key]:
                yield Difference(table, key, "different")


class Comparison:
    """Compares the views in one database with the store's events."""

    def __init__(
        self,
        store: StreamStore,
        mapper: Mapper[Any],
        views: dict[str, DocumentView],
        projections: tuple[type[Projection], ...],
        topic: str,
        partitions: int,
    ) -> None:
        self.store = store
        self.recorder: ApplicationRecorder = store.recorder
        self.mapper = mapper
        self.views = views
        self.projections = projections
        self.topic = topic
        self.partitions = partitions
        self._backlogs: dict[str, Backlog] = {}
        """Per view, what it has not applied yet (``wait`` reads only new events)."""

    def caught_up(self) -> bool:
        """Every present view has applied every event of the store."""
        head = self.store.head()
        for view in self.views.values():
            at = positions_of(view, self.topic, self.partitions)
            if not at.present:
                continue
            if at.partitions:
                backlog = self._backlogs.setdefault(
                    view.projection, Backlog(self.store, self.partitions)
                )
                lags = backlog.update({p: at.partitions.get(p, 0) for p in range(self.partitions)})
                if any(lag.events or lag.at_least for lag in lags.values()):
                    return False
            elif at.store < head:
                return False
        return True

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.caught_up():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    def run(self) -> list[ViewReport]:
        return [self.compare(p) for p in self.projections]

    def compare(self, projection: type[Projection], attempts: int = 20) -> ViewReport:
        view = self.views[projection.name]
        for _ in range(attempts):
            before = positions_of(view, self.topic, self.partitions)
            if not before.present:
                return ViewReport(projection.name, present=False, reached="no view")
            found = rows_of(view)
            if positions_of(view, self.topic, self.partitions) == before:
                break  # no batch committed while the rows were read
        else:
            raise RuntimeError(f"the {projection.name} view kept moving; try again")
        scratch = self.scratch(projection, self.included(before))
        try:
            expected = rows_of(scratch)
        finally:
            scratch.datastore.close()  # the in-memory database goes with its connections
        return ViewReport(
            projection.name,
            compared={table: len(rows) for table, rows in found.items()},
            differences=list(differences(expected, found)),
            reached=_reached(before),
        )

    def included(self, at: ViewPositions) -> Callable[[int, Any], bool]:
        """Which store events (position, notification) the view has had the chance to see."""
        if at.partitions:
            tracked, count = at.partitions, self.partitions

            def seen(position: int, notification: Any) -> bool:
                partition = partition_of(notification.originator_id, count)
                return position <= tracked.get(partition, 0)

            return seen
        return lambda position, _: position <= at.store

    def scratch(
        self, projection: type[Projection], seen: Callable[[int, Any], bool]
    ) -> DocumentView:
        """The projection's view rebuilt in memory from the store's events ``seen``."""
        name = f"file:okrgov-compare-{uuid.uuid4().hex}?mode=memory&cache=shared"
        view = view_for(SQLiteDatastore(name), projection)
        apply = projection().apply
        after = 0
        while True:
            page = self.recorder.select_notifications(
                start=after, limit=PAGE, inclusive_of_start=False
            )
            if not page:
                return view
            after = page[-1].id
            events = [(n.id, self.mapper.to_domain_event(n)) for n in page if seen(n.id, n)]
            if not events:
                continue

            def work(docs: DocumentBatch, events: list[tuple[int, Any]] = events) -> None:
                for position, event in events:
                    docs.position = position
                    apply(event, docs)

            view.apply(Tracking(projection.name, events[-1][0]), work)


def _reached(at: ViewPositions) -> str:
    if at.partitions:
        return "partitions " + ", ".join(f"{p}@{n}" for p, n in sorted(at.partitions.items()))
    return f"store@{at.store}"
