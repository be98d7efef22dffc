"""Every read-model projection is partition-safe: fed from a topic keyed by aggregate id,
where each aggregate's events keep their order but aggregates interleave in any way, it
builds a view identical, row for row, to the one the store-following runner builds.

A realistic quarter is recorded through the ledger; then, for each projection, hypothesis
deals the aggregates to partitions, merges the partitions in a random order (several
events of one partition at a time, as a consumer polls them) and applies them to a fresh
view, each event with its original store position and each batch tracked per partition
(``audit@p3``), as the Kafka workers do. SQLite only: the property is about what
``apply`` reads and writes, which the backend does not change."""

import random
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteDatastore
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quarter import record_governed_quarter

from infra.config import Settings
from projections.documents import DocumentBatch, DocumentView, SQLiteDocumentView
from projections.entries import EntryProjection, EntryView, SQLiteEntryView
from projections.follower import Projection
from services.bootstrap import PROJECTIONS, build

Event = tuple[int, Any]
"""An event with its store position (notification id)."""


@dataclass(repr=False)
class Recorded:
    events: list[Event]
    expected: dict[str, tuple[list[Any], list[Any], list[Any]]]
    """By projection: the rows the store-following runner built (see ``_contents``)."""


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    data_dir: Path = tmp_path_factory.mktemp("partition-safety")
    platform = build(
        Settings(
            data_dir=data_dir,
            secret_key="test-secret-of-enough-length-for-hs256",
            log_level="WARNING",
        )
    )
    try:
        record_governed_quarter(platform)
        platform.catch_up()
        recorder, mapper = platform.ledger.recorder, platform.ledger.mapper
        notifications = recorder.select_notifications(start=1, limit=100_000)
        events = [(n.id, mapper.to_domain_event(n)) for n in notifications]
        expected = {p.name: _contents(platform.followers[p.name].view) for p in PROJECTIONS}
        yield Recorded(events, expected)
    finally:
        platform.close()


def _contents(view: DocumentView) -> tuple[list[Any], list[Any], list[Any]]:
    """The documents, and for an entry view the entries (with their decisions) and the
    links between events and decisions."""
    if isinstance(view, EntryView):
        return view.dump(), view.dump_entries(), view.dump_links()
    return view.dump(), [], []


def _differences(rows: list[Any], expected: list[Any]) -> list[str]:
    """What differs, row by row (keyed by each row's first two cells), as short text:
    the row built, then the row the store-following runner built."""
    built = {row[:2]: row for row in rows}
    wanted = {row[:2]: row for row in expected}
    found = []
    for key in sorted(built.keys() | wanted.keys(), key=str):
        if built.get(key) != wanted.get(key):
            found.append(f"{key}: {_short(built.get(key))}, not {_short(wanted.get(key))}")
    return found


def _short(row: Any) -> str:
    return "missing" if row is None else repr(row)[:600]


def apply_events(
    view: DocumentView, projection: Projection, tracking: str, events: list[Event]
) -> None:
    """Apply events in one transaction, each with its own store position, tracked under
    ``tracking`` at the last one (what a partition's consumer records)."""

    def work(docs: DocumentBatch) -> None:
        for position, event in events:
            docs.position = position
            projection.apply(event, docs)

    view.apply(Tracking(tracking, events[-1][0]), work)


def partitioned(events: list[Event], rnd: random.Random, partitions: int) -> Iterator[Any]:
    """Deal each aggregate to one of ``partitions`` partitions (0: each aggregate its own),
    then yield ``(partition, batch)`` by picking a partition at random and taking one to
    three events from its head: every aggregate's events (every partition's) keep store
    order, nothing else does."""
    deal: dict[Any, int] = {}
    queues: dict[int, list[Event]] = defaultdict(list)
    for position, event in events:
        own = len(deal) if event.originator_id not in deal else 0
        partition = deal.setdefault(
            event.originator_id, rnd.randrange(partitions) if partitions else own
        )
        queues[partition].append((position, event))
    while queues:
        partition = rnd.choice(sorted(queues))
        queue = queues[partition]
        take = rnd.randint(1, 3)
        yield partition, queue[:take]
        del queue[:take]
        if not queue:
            del queues[partition]


@pytest.fixture
def fresh_view() -> Iterator[Any]:
    """Makes empty views of a projection in a private in-memory database per example."""
    datastores: list[SQLiteDatastore] = []

    def make(projection: type[Projection]) -> DocumentView:
        name = f"file:partitions-{uuid.uuid4().hex}?mode=memory&cache=shared"
        datastore = SQLiteDatastore(name)
        datastores.append(datastore)
        entries = issubclass(projection, EntryProjection)
        view = (SQLiteEntryView if entries else SQLiteDocumentView)(datastore, projection.name)
        view.create_table()
        return view

    yield make
    for datastore in datastores:
        datastore.close()


@pytest.mark.parametrize("projection", PROJECTIONS, ids=lambda p: p.name)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**32 - 1), partitions=st.integers(0, 40))
def test_any_per_aggregate_order_builds_the_store_order_view(
    projection: type[Projection],
    quarter: Recorded,
    fresh_view: Any,
    seed: int,
    partitions: int,
) -> None:
    rnd = random.Random(seed)
    view = fresh_view(projection)
    worker = projection()
    last: dict[int, int] = {}
    for partition, batch in partitioned(quarter.events, rnd, partitions):
        apply_events(view, worker, f"{projection.name}@p{partition}", batch)
        last[partition] = batch[-1][0]
    for built, expected in zip(_contents(view), quarter.expected[projection.name], strict=True):
        assert _differences(built, expected) == []
    for partition, position in last.items():
        assert view.max_tracking_id(f"{projection.name}@p{partition}") == position


def test_the_quarter_has_what_the_property_needs(quarter: Recorded) -> None:
    """The history exercises what could break partition safety: commands spanning several
    aggregates, decisions allowed and denied, change requests on two key results."""
    kinds = [type(event).__qualname__ for _, event in quarter.events]
    for kind in (
        "ChangeRequest.Approved", "ChangeRequest.Rejected", "KeyResult.Revised",
        "PolicyVersion.Approved", "PolicyVersion.Retired", "Cycle.Sealed", "Objective.Scored",
    ):  # fmt: skip
        assert kind in kinds, kind
    outcomes = {e.outcome for _, e in quarter.events if type(e).__qualname__.startswith("Decision")}
    assert outcomes == {"allowed", "denied"}
    assert len({e.originator_id for _, e in quarter.events}) > 20
