"""The relay's pages: the rows after a position, read from the store a page at a time, with
their records (``infra.stream_envelope.encode``: a JSON envelope and an Ed25519 signature
per event). The next page is read and handed to an encoder while the one before is in
flight: ``InlineEncoder`` encodes it at once in the calling thread,
``infra.stream_encoder.ProcessEncoder`` in a process of its own, on another core."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from infra import kafka, stream_envelope
from infra.signing import Signer
from infra.stored_events import StoredEvents, StoredRow

Records = list[tuple[bytes, bytes, int]]
"""The key, value and partition of each record of a page, in the order of its rows."""


def encode_page(
    rows: Sequence[StoredRow], source: str, signer: Signer, page_bytes: int, partitions: int
) -> Records:
    """One page of the relay: the records of the first rows (always the first, however
    large) whose records for each partition take at most ``page_bytes`` in a record batch
    (``infra.kafka.record_bytes``), each with its partition among ``partitions``
    (``infra.kafka.key_partition``, the producer's default)."""
    records: Records = []
    taken = [0] * partitions
    for row in rows:
        key, value = stream_envelope.encode(row, source, signer)
        partition = kafka.key_partition(key, partitions)
        size = kafka.record_bytes(key, value, stream_envelope.HEADERS)
        if records and taken[partition] + size > page_bytes:
            break  # the rest go in the next page
        taken[partition] += size
        records.append((key, value, partition))
    return records


class Pending(Protocol):
    """A page being encoded."""

    def result(self) -> Records: ...


class PageEncoder(Protocol):
    """Encodes the relay's pages, now or in the background."""

    def start(self) -> None: ...
    def submit(self, rows: Sequence[StoredRow], page_bytes: int, partitions: int) -> Pending: ...
    def close(self) -> None: ...


class _Done:
    def __init__(self, records: Records | None = None, error: Exception | None = None) -> None:
        self.records = records
        self.error = error

    def result(self) -> Records:
        if self.error is not None:
            raise self.error
        assert self.records is not None
        return self.records


class InlineEncoder:
    """Encodes in the calling thread, when submitted."""

    def __init__(self, source: str, signer: Signer) -> None:
        self.source = source
        self.signer = signer

    def start(self) -> None:
        pass

    def submit(self, rows: Sequence[StoredRow], page_bytes: int, partitions: int) -> Pending:
        try:
            return _Done(encode_page(rows, self.source, self.signer, page_bytes, partitions))
        except Exception as exc:  # raised where the page is taken, as from a process
            return _Done(error=exc)

    def close(self) -> None:
        pass


class EncoderFailed(RuntimeError):
    """A page could not be encoded for a reason of the encoder's own (its process died,
    hung, or did not load the relay's key): nothing of the page was sent, and it is tried
    again."""


@dataclass
class Page:
    rows: Sequence[StoredRow]
    records: Records


@dataclass
class _Ahead:
    after: int
    partitions: int
    rows: Sequence[StoredRow]
    records: Pending


class Pages:
    """The relay's pages: the rows after a position (at most ``page_size``, and as many of
    them as fit ``page_bytes`` once encoded) with their records; the next page can be read
    and handed to the encoder ahead, while the one before is in flight.

    A page that was not read ahead (the first, or the first after a failure or a pause) is
    at most ``FIRST_ROWS``, and each page read ahead at most ``GROWTH`` times the one in
    flight: the relay's process waits only for a short first page to be encoded, and the
    encoder (about three times faster than the producer) stays ahead of it after that."""

    FIRST_ROWS = 100
    GROWTH = 3

    def __init__(
        self, stored: StoredEvents, encoder: PageEncoder, page_size: int, page_bytes: int
    ) -> None:
        self.stored = stored
        self.encoder = encoder
        self.page_size = page_size
        self.page_bytes = page_bytes
        self._ahead: _Ahead | None = None
        self._rest: tuple[int, Sequence[StoredRow]] = (0, ())
        """Rows read after the last page taken but cut from it, and the position they follow."""
        self._taken = 0
        """How many events the last page taken has."""

    def after(self, position: int, partitions: Callable[[], int]) -> Page:
        """The page after ``position``: the one read ahead if it starts there (and was cut
        for as many partitions as the topic has), else read now (a page failed, or another
        relay recorded a position of its own). ``partitions`` is asked only when there are
        rows to encode."""
        ahead, self._ahead = self._ahead, None
        if ahead is None or ahead.after != position or ahead.partitions != partitions():
            ahead = self._read(position, partitions, self.FIRST_ROWS)
            if ahead is None:
                return Page([], [])
        records = ahead.records.result()
        page = Page(ahead.rows[: len(records)], records)
        self._rest = (page.rows[-1].position, ahead.rows[len(records) :])
        self._taken = len(page.rows)
        return page

    def read_ahead(self, position: int, partitions: int) -> None:
        """Read the page after ``position``, the last of the page just taken, and hand it
        to the encoder."""
        limit = max(self.FIRST_ROWS, self.GROWTH * self._taken)
        try:
            self._ahead = self._read(position, lambda: partitions, limit)
        except EncoderFailed:  # not this page's concern: the next is encoded when it is due
            self._ahead = None

    def _read(self, after: int, partitions: Callable[[], int], limit: int) -> _Ahead | None:
        limit = min(limit, self.page_size)
        follows, rest = self._rest
        rows = list(rest[:limit]) if follows == after else []
        if len(rows) < limit:
            start = rows[-1].position if rows else after
            rows += self.stored.page(start, limit - len(rows))
        if not rows:
            return None
        count = partitions()
        return _Ahead(after, count, rows, self.encoder.submit(rows, self.page_bytes, count))

    def close(self) -> None:
        self._ahead = None
        self._rest = (0, ())
        self.encoder.close()
