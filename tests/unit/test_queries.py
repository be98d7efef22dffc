"""The questions the API asks of the read models (projections/queries.py), on real views
in a SQLite file: what each answers, and NotFound for what is not there."""

from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteDatastore

from events.errors import NotFound
from projections.documents import DocumentView, SQLiteDocumentView
from projections.queries import GovernanceQueries, OkrQueries

POSITIONS = count(1)


@pytest.fixture
def view(tmp_path: Path) -> DocumentView:
    datastore = SQLiteDatastore(str(tmp_path / "views.db"))
    view = SQLiteDocumentView(datastore, "queries_test")
    view.create_table()
    return view


def put(view: DocumentView, kind: str, scope: str | None, doc: dict[str, object]) -> None:
    """Write one document as a projection does: in a batch, with the next position."""
    tracking = Tracking("store", next(POSITIONS))
    view.apply(tracking, lambda batch: batch.put(kind, str(doc["id"]), doc, scope))


def test_okr_queries_nest_the_tree_and_carry_the_warnings(view: DocumentView) -> None:
    cycle, parent, child, kr = (str(uuid4()) for _ in range(4))
    put(view, "cycle", None, {"id": cycle, "name": "Q1"})
    put(view, "objective", cycle, {"id": parent, "parent_id": None, "title": "firm"})
    put(view, "objective", cycle, {"id": child, "parent_id": parent, "title": "team"})
    put(view, "key_result", child, {"id": kr, "title": "turnaround"})
    warned = [{"rule": "single_key_result", "message": "add another"}]
    okr = OkrQueries(view, warned)

    tree = okr.cycle_tree(UUID(cycle))
    assert [o["id"] for o in tree["objectives"]] == [parent]
    assert [o["id"] for o in tree["objectives"][0]["children"]] == [child]
    assert okr.objective(UUID(child))["key_results"][0]["id"] == kr
    assert okr.key_result(UUID(kr))["warnings"] == warned
    assert "warnings" not in OkrQueries(view).key_result(UUID(kr))
    with pytest.raises(NotFound, match="key result"):
        okr.key_result(uuid4())


def test_governance_denials_are_the_latest_within_the_period(view: DocumentView) -> None:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    ids = [uuid4() for _ in range(4)]
    for n, ident in enumerate(ids):
        at = (start + timedelta(days=n)).isoformat()
        put(view, "decision", "denied", {"id": str(ident), "at": at, "position": n + 1})
    put(view, "decision", "allowed", {"id": str(uuid4()), "at": start.isoformat(), "position": 9})
    governance = GovernanceQueries(view)

    assert governance.denials(None, None, 10) == ids[::-1]
    # At or after since, before until: the denial recorded at until itself is outside.
    assert governance.denials(start + timedelta(days=1), start + timedelta(days=3), 10) == [
        ids[2],
        ids[1],
    ]
    assert governance.denials(None, None, 2) == [ids[3], ids[2]]
    assert governance.denials(None, None, 0) == []
    with pytest.raises(NotFound, match="policy version"):
        governance.active_policy()
