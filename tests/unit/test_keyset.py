"""Keyset paging reads every row once, whatever the page size, and stops at a short page;
the alignment tree places every objective once, loops and orphans at the top."""

import pytest

from infra.keyset import keyset_pages
from projections.okr_state import alignment_tree


@pytest.mark.parametrize(("rows", "page_size"), [(0, 3), (5, 3), (6, 3), (7, 1), (2, 10)])
def test_every_row_once_in_key_order(rows: int, page_size: int) -> None:
    table = list(range(1, rows + 1))
    reads: list[tuple[int, int]] = []

    def read(after: int, limit: int) -> list[int]:
        reads.append((after, limit))
        return [key for key in table if key > after][:limit]

    assert list(keyset_pages(read, lambda key: key, page_size=page_size)) == table
    # One read per full page, plus the short (maybe empty) one that ends it.
    assert len(reads) == rows // page_size + 1


def test_paging_starts_after_the_key_given() -> None:
    def read(after: int, limit: int) -> list[int]:
        return [key for key in range(1, 10) if key > after][:limit]

    assert list(keyset_pages(read, lambda key: key, after=6, page_size=2)) == [7, 8, 9]


def test_the_tree_nests_and_keeps_loops_and_orphans_at_the_top() -> None:
    objectives = [
        {"id": "a", "parent_id": None},
        {"id": "b", "parent_id": "a"},
        {"id": "c", "parent_id": "gone"},  # its parent is not in the cycle
        {"id": "d", "parent_id": "e"},  # d and e align to each other
        {"id": "e", "parent_id": "d"},
    ]
    tree = alignment_tree(objectives, lambda o: {"id": o["id"]})
    assert tree == [
        {"id": "a", "children": [{"id": "b", "children": []}]},
        {"id": "c", "children": []},
        {"id": "d", "children": [{"id": "e", "children": []}]},
    ]
    whole = alignment_tree(objectives[:2])
    assert whole[0]["parent_id"] is None and whole[0]["children"][0]["parent_id"] == "a"
