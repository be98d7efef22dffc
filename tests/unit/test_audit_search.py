"""The audit trail's search, shared by ``GET /v1/audit`` and the console: a page and the
cursor of the next one, an export read a chunk at a time up to where the trail was when
it began, the rule of who may read it; and how the console shows values and titles."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from projections.entries import EXPORT_COLUMNS, EntryQuery
from services.application import audit_search
from services.application.principals import Principal, Role
from services.reports.audit_display import shown, titles


@dataclass
class Search:
    aggregate_id: UUID | None = None
    objective_id: UUID | None = None
    actor: str | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: int = 0
    limit: int | None = None


def entry(position: int) -> dict[str, Any]:
    return {c: None for c in EXPORT_COLUMNS} | {
        "position": position,
        "actor": "tom",
        "changes": {},
        "details": {},
    }


class FakeTrail:
    """Entries 1..size; remembers each query and each read's size."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.queries: list[EntryQuery] = []
        self.reads: list[int] = []

    def position(self) -> int:
        return self.size

    def entries(self, query: EntryQuery, after: int = 0, limit: int = 100) -> list[Any]:
        self.queries.append(query)
        top = min(self.size, query.upto or self.size)
        found = [entry(p) for p in range(after + 1, min(top, after + limit) + 1)]
        self.reads.append(len(found))
        return found

    def pages(self, query: EntryQuery, after: int = 0, chunk: int = 500) -> Any:
        while batch := self.entries(query, after, chunk):
            yield from batch
            after = batch[-1]["position"]


def test_a_page_leads_to_the_next_and_the_last_says_so() -> None:
    trail = FakeTrail(250)
    first = audit_search.page(trail, Search())  # type: ignore[arg-type]
    assert [e["position"] for e in first["items"]] == list(range(1, 101))
    assert first["next_cursor"] == 100
    last = audit_search.page(trail, Search(cursor=200, limit=50))  # type: ignore[arg-type]
    assert len(last["items"]) == 50 and last["next_cursor"] is None


def test_the_filters_become_the_entry_query() -> None:
    ident = UUID(int=7)
    since = datetime(2026, 10, 1, tzinfo=UTC)
    query = audit_search.entry_query(Search(aggregate_id=ident, actor="tom", type="X", since=since))
    assert query == EntryQuery(aggregate_id=str(ident), actor="tom", action="X", since=since)


def test_an_export_reads_in_chunks_up_to_where_the_trail_was() -> None:
    trail = FakeTrail(23)
    found = audit_search.export(trail, Search(cursor=3), "csv", chunk=5)  # type: ignore[arg-type]
    assert trail.reads == [5]  # the first chunk is read before the answer starts
    trail.size = 40  # written while the export streams: not in it
    rows = list(csv.DictReader(io.StringIO("".join(found.lines))))
    assert [int(r["position"]) for r in rows] == list(range(4, 24))
    assert max(trail.reads) == 5 and {q.upto for q in trail.queries} == {23}
    assert (found.media_type, found.filename) == ("text/csv; charset=utf-8", "audit.csv")


def test_members_do_not_read_the_trail() -> None:
    marcus = Principal("marcus", frozenset({Role.COMPLIANCE}))
    assert audit_search.require_overseer(marcus) is marcus
    with pytest.raises(Exception, match="read by compliance, executives and risk officers"):
        audit_search.require_overseer(Principal("tom", frozenset({Role.MEMBER})))


def test_values_are_shown_as_one_line_of_json_cut_to_length() -> None:
    assert shown("as it is") == "as it is"
    assert shown({"a": [1, None]}) == '{"a": [1, null]}'
    cut = shown("x" * 1000, limit=10)
    assert cut == "x" * 9 + "…" and len(cut) == 10


def test_titles_name_the_okr_objects_the_state_knows() -> None:
    class State:
        def get(self, kind: str, ident: str) -> dict[str, Any] | None:
            known = {("key_result", "k"): {"title": "LP reporting turnaround"},
                     ("cycle", "c"): {"name": "2026-Q4"}}  # fmt: skip
            return known.get((kind, ident))

    named = [("KeyResult", "k"), ("Cycle", "c"), ("PolicyVersion", "p"), ("key_result", None)]
    assert titles(State(), named) == {"k": "LP reporting turnaround", "c": "2026-Q4"}  # type: ignore[arg-type]
