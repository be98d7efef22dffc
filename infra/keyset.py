"""Keyset pagination: reading a table that only grows (the event store, the leaf log, the
audit trail's entries) a page at a time, each page starting after the last key of the one
before. Unlike an offset, the key skips and repeats nothing while rows are appended, and
each page is its own short read, so a result of any size never sits in memory whole.

It lives in infra, the lowest layer but the domain's, because the store's own reader
(``infra.stored_events``) pages this way as well as the read models and the evidence."""

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

Row = TypeVar("Row")


def keyset_pages(
    read: Callable[[int, int], Sequence[Row]],
    key: Callable[[Row], int],
    *,
    after: int = 0,
    page_size: int,
) -> Iterator[Row]:
    """Every row whose key is above ``after``, in key order: ``read(after, limit)`` gives
    up to ``limit`` rows above ``after``; a page shorter than ``page_size`` is the last."""
    while True:
        page = read(after, page_size)
        yield from page
        if len(page) < page_size:
            return
        after = key(page[-1])
