"""Cyclic garbage collection paused around a bulk step that makes no reference cycles.

A page of thousands of decoded events, rows or documents otherwise sets off several
collections, and its objects are promoted to the older generations, whose full
collections then scan every object of the process: measured +70% on ``verify``'s time,
and a sixth of the audit trail's catch-up CPU (a quarter of governance's). Callers: the
views' follower (each batch) and ``verify`` (each page)."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside; re-enabled after, and left alone when something else
    had it disabled already."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
