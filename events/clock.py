"""The clock and the id source that every okrgov aggregate's events are stamped from.

Outside the two context managers below they are the real ones: the current UTC time and
random (version 4) UUIDs. Inside them they are simulated, for this context only (a
``ContextVar``: other threads and requests are untouched), so a demo can record a quarter
whose events are spread over its weeks and whose ids repeat from load to load:

- ``at(moment)``: ``now()`` answers ``moment``, then ``moment`` plus one microsecond per
  further call, so the events of one command keep the order they happened in (the ledger
  saves a command's events sorted by timestamp) and ``today()`` is ``moment``'s date.
- ``seeded_ids(seed)``: new aggregate ids come from ``random.Random(seed)``, so the same
  seed gives the same ids in the same order.

This module imports nothing of ours (``events`` is the bottom layer).
"""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4


class _Simulated:
    """A simulated moment that moves on a microsecond each time it is read."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment
        self.ticks = 0

    def read(self) -> datetime:
        answer = self.moment + timedelta(microseconds=self.ticks)
        self.ticks += 1
        return answer


_simulated: ContextVar[_Simulated | None] = ContextVar("okrgov_simulated_time", default=None)
_seeded: ContextVar[random.Random | None] = ContextVar("okrgov_seeded_ids", default=None)


def now() -> datetime:
    """The current time (aware, UTC), or the simulated one inside ``at(...)``."""
    simulated = _simulated.get()
    return simulated.read() if simulated is not None else datetime.now(UTC)


def today() -> date:
    """The current date in UTC, or the simulated moment's date inside ``at(...)`` (read
    without moving the simulated clock on)."""
    simulated = _simulated.get()
    return simulated.moment.date() if simulated is not None else datetime.now(UTC).date()


def simulated() -> bool:
    """Whether ``now()`` answers a simulated time here."""
    return _simulated.get() is not None


@contextmanager
def at(moment: datetime) -> Iterator[datetime]:
    """Inside the block, ``now()`` is ``moment`` (aware; kept as UTC) and ``today()`` its
    date. Blocks nest: the inner one wins until it ends."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a simulated time must be timezone-aware, not {moment.isoformat()}")
    utc = moment.astimezone(UTC)
    token = _simulated.set(_Simulated(utc))
    try:
        yield utc
    finally:
        _simulated.reset(token)


def new_id() -> UUID:
    """A new aggregate id: random, or the seeded source's next one inside ``seeded_ids``."""
    source = _seeded.get()
    if source is None:
        return uuid4()
    return UUID(int=source.getrandbits(128), version=4)


@contextmanager
def seeded_ids(seed: str) -> Iterator[None]:
    """Inside the block, new aggregate ids are the same for the same seed and the same
    sequence of creations (version 4 UUIDs drawn from ``random.Random(seed)``)."""
    token = _seeded.set(random.Random(seed))
    try:
        yield
    finally:
        _seeded.reset(token)
