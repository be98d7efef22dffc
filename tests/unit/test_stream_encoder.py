"""The relay's pages encoded in a process of their own (infra/stream_encoder.py): the same
bytes as the relay's own process makes, cut at the same page size; a failure of the
process fails the page (nothing of it to send) and the next page starts a new process; an
error in a row comes back as itself; a process that would sign with another key is refused
and the pages are encoded in the relay's process instead. And the page read ahead is used
only where the relay's position says it starts."""

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kafka.record.memory_records import MemoryRecordsBuilder

from infra import kafka, stream_envelope
from infra.signing import Signer, encode_private_key, parse_private_key
from infra.stored_events import StoredRow
from infra.stream_encoder import ProcessEncoder
from infra.stream_pages import EncoderFailed, InlineEncoder, Pages, Pending, encode_page

KEY = encode_private_key(Ed25519PrivateKey.generate())
SIGNER = Signer(parse_private_key(KEY))
SOURCE = "okrgov://test/encoder"
PARTS = 3


def rows() -> list[StoredRow]:
    aggregate = uuid4().hex
    stamp = {"_type_": "datetime_iso", "_data_": "2026-10-01T09:30:00.123456+00:00"}
    states = [
        json.dumps(
            {"timestamp": stamp, "note": "Zürich «ok»\u2028"},
            separators=(",", ":"),
            ensure_ascii=False,
        ),
        '{"a": 1}',  # not compact: travels as base64
        "x" * 5000,
        json.dumps({"values": list(range(2000))}, separators=(",", ":")),
    ]
    made = [
        StoredRow(10 + n, aggregate, n + 1, "events.x:X.Happened", state.encode())
        for n, state in enumerate(states)
    ]
    return [*made, StoredRow(20, aggregate, 9, "events.x:X.Happened", b"\x00\xff")]


@pytest.fixture
def encoder(tmp_path: Path) -> Iterator[ProcessEncoder]:
    started = ProcessEncoder(SOURCE, SIGNER, KEY, tmp_path)
    yield started
    started.close()


@pytest.mark.parametrize("page_bytes", [1, 3000, 10_000, 1 << 20])
def test_a_process_encodes_the_bytes_the_relays_own_process_does(
    encoder: ProcessEncoder, page_bytes: int
) -> None:
    page = rows()
    expected = encode_page(page, SOURCE, SIGNER, page_bytes, PARTS)
    assert encoder.submit(page, page_bytes, PARTS).result() == expected
    assert InlineEncoder(SOURCE, SIGNER).submit(page, page_bytes, PARTS).result() == expected
    assert 1 <= len(expected) <= len(page)
    assert (len(expected) == len(page)) == (page_bytes == 1 << 20)
    for row, (key, value, partition) in zip(page, expected, strict=False):
        assert (key, value) == stream_envelope.encode(row, SOURCE, SIGNER)
        assert partition == kafka.partition_of(UUID(row.originator_id), PARTS)


def test_a_dead_process_fails_its_page_and_the_next_page_starts_another(
    encoder: ProcessEncoder,
) -> None:
    page = rows()
    encoder.start()
    first = encoder.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    with pytest.raises(EncoderFailed):  # on writing the page, or on reading its answer
        encoder.submit(page, 1 << 20, PARTS).result()
    assert encoder.pid is None
    assert encoder.submit(page, 1 << 20, PARTS).result() == encode_page(
        page, SOURCE, SIGNER, 1 << 20, PARTS
    )
    assert encoder.pid not in (None, first)


def test_an_error_in_a_row_comes_back_as_itself_and_the_process_goes_on(
    encoder: ProcessEncoder,
) -> None:
    broken = StoredRow(5, None, None, None, b"{}")
    with pytest.raises(ValueError, match="position 5 lacks its id"):
        encoder.submit([broken], 1 << 20, PARTS).result()
    running = encoder.pid
    assert encoder.submit(rows(), 1 << 20, PARTS).result()
    assert encoder.pid == running


def test_a_page_given_up_is_dropped_and_the_next_one_answered(encoder: ProcessEncoder) -> None:
    given_up = encoder.submit(rows()[:1], 1 << 20, PARTS)
    page = rows()
    assert encoder.submit(page, 1 << 20, PARTS).result() == encode_page(
        page, SOURCE, SIGNER, 1 << 20, PARTS
    )
    with pytest.raises(EncoderFailed):
        given_up.result()


def test_a_process_that_would_sign_with_another_key_gives_way_to_the_relays_own(
    tmp_path: Path,
) -> None:
    """Refused, and not tried again: the pages are encoded in the relay's process, with
    the relay's key, so they are never left unsent."""
    page = rows()
    for configured in (encode_private_key(Ed25519PrivateKey.generate()), None):  # None: no key
        encoder = ProcessEncoder(SOURCE, SIGNER, configured, tmp_path)
        encoder.start()
        assert encoder.pid is None and not encoder.apart
        assert encoder.submit(page, 1 << 20, PARTS).result() == encode_page(
            page, SOURCE, SIGNER, 1 << 20, PARTS
        )
        assert encoder.pid is None


class Store:
    """The store's reads as the relay makes them: how many, from where."""

    def __init__(self, stored: list[StoredRow]) -> None:
        self.stored = stored
        self.reads: list[int] = []

    def page(self, after: int, limit: int) -> list[StoredRow]:
        self.reads.append(after)
        return [row for row in self.stored if row.position > after][:limit]


def test_the_page_read_ahead_is_taken_only_where_the_position_says() -> None:
    stored = rows()
    store = Store(stored)
    pages = Pages(store, InlineEncoder(SOURCE, SIGNER), page_size=2, page_bytes=1 << 20)  # type: ignore[arg-type]
    first = pages.after(0, lambda: PARTS)
    assert [row.position for row in first.rows] == [10, 11]
    pages.read_ahead(11, PARTS)
    assert store.reads == [0, 11]
    assert [row.position for row in pages.after(11, lambda: PARTS).rows] == [12, 13]
    assert store.reads == [0, 11]  # taken as read ahead
    pages.read_ahead(13, PARTS)
    # The page after 13 failed, say: the relay asks again from its recorded position.
    again = pages.after(11, lambda: PARTS)
    assert [row.position for row in again.rows] == [12, 13]
    assert store.reads == [0, 11, 13, 11]
    assert again.records == encode_page(stored[2:4], SOURCE, SIGNER, 1 << 20, PARTS)
    assert pages.after(20, lambda: PARTS).rows == []


def test_rows_cut_from_a_page_by_size_begin_the_next_one_without_being_read_again() -> None:
    stored = rows()  # positions 10 to 13 and 20; 13 is large
    store = Store(stored)
    pages = Pages(store, InlineEncoder(SOURCE, SIGNER), page_size=4, page_bytes=3000)  # type: ignore[arg-type]
    first = pages.after(0, lambda: PARTS)
    assert [row.position for row in first.rows] == [10, 11]
    assert first.records == encode_page(stored[:2], SOURCE, SIGNER, 3000, PARTS)
    pages.read_ahead(11, PARTS)
    second = pages.after(11, lambda: PARTS)
    assert [row.position for row in second.rows] == [12]
    # 12 and 13 were read with the first page; only what follows them is read again.
    assert store.reads == [0, 13]
    assert [row.position for row in pages.after(12, lambda: PARTS).rows] == [13]
    assert [row.position for row in pages.after(13, lambda: PARTS).rows] == [20]
    assert pages.after(20, lambda: PARTS).rows == []


class Dying(InlineEncoder):
    """An encoder whose process dies on the next page given to it."""

    dies = False

    def submit(self, rows: list[StoredRow], page_bytes: int, partitions: int) -> Pending:  # type: ignore[override]
        if self.dies:
            self.dies = False
            raise EncoderFailed("the encoding process exited")
        return super().submit(rows, page_bytes, partitions)


def test_an_encoder_failing_on_the_page_read_ahead_leaves_that_page_to_be_encoded_when_due() -> (
    None
):
    store = Store(rows())
    encoder = Dying(SOURCE, SIGNER)
    pages = Pages(store, encoder, page_size=2, page_bytes=1 << 20)  # type: ignore[arg-type]
    assert [row.position for row in pages.after(0, lambda: PARTS).rows] == [10, 11]
    encoder.dies = True
    pages.read_ahead(11, PARTS)  # the page in hand is still sent
    assert [row.position for row in pages.after(11, lambda: PARTS).rows] == [12, 13]
    encoder.dies = True
    with pytest.raises(EncoderFailed):  # a page due now fails: the relay tries it again
        pages.after(13, lambda: PARTS)
    assert [row.position for row in pages.after(13, lambda: PARTS).rows] == [20]


def test_a_full_page_goes_into_one_record_batch_of_the_producer() -> None:
    """Pages are cut by what their records take in a batch: a page of ~1 KB events fills
    most of a batch, yet all of it fits one (a page's records for one partition are never
    split over two batches, where one could fail and the other land)."""
    aggregate = uuid4().hex
    states = [
        json.dumps({"n": n, "note": "x" * (900 + n % 400)}).replace(" ", "") for n in range(900)
    ]
    stored = [
        StoredRow(n + 1, aggregate, n + 1, "events.x:X", s.encode()) for n, s in enumerate(states)
    ]
    page = encode_page(stored, SOURCE, SIGNER, kafka.PAGE_BYTES, PARTS)
    assert len(page) < len(stored)
    assert sum(len(k) + len(v) for k, v, _ in page) > 0.9 * kafka.BATCH_BYTES
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=kafka.BATCH_BYTES)
    moment = int(time.time() * 1000)
    for offset, (key, value, _) in enumerate(page):
        # Timestamps far apart: the largest deltas the estimate allows for.
        appended = builder.append(moment + offset * 10**9, key, value, stream_envelope.HEADERS)
        assert appended is not None, f"record {offset} of {len(page)} did not fit the batch"


def test_a_page_is_cut_by_what_each_partitions_batch_takes() -> None:
    """Each partition's records of a page fit one batch; together they may take several."""
    aggregates = [uuid4().hex for _ in range(12)]
    states = [f'{{"n":{n},"note":"{"x" * 1500}"}}'.encode() for n in range(3000)]
    stored = [
        StoredRow(n + 1, aggregates[n % 12], n // 12 + 1, "events.x:X", state)
        for n, state in enumerate(states)
    ]
    page = encode_page(stored, SOURCE, SIGNER, kafka.PAGE_BYTES, PARTS)
    taken = [0] * PARTS
    for (key, value, partition), row in zip(page, stored, strict=False):
        assert partition == kafka.partition_of(UUID(row.originator_id), PARTS)
        taken[partition] += kafka.record_bytes(key, value, stream_envelope.HEADERS)
    assert max(taken) <= kafka.PAGE_BYTES < sum(taken)
    key, value = stream_envelope.encode(stored[len(page)], SOURCE, SIGNER)
    full = kafka.key_partition(key, PARTS)  # the next record would take its batch past
    assert taken[full] + kafka.record_bytes(key, value, stream_envelope.HEADERS) > kafka.PAGE_BYTES


def test_a_page_read_ahead_for_another_partition_count_is_encoded_again() -> None:
    store = Store(rows())
    pages = Pages(store, InlineEncoder(SOURCE, SIGNER), page_size=2, page_bytes=1 << 20)  # type: ignore[arg-type]
    pages.after(0, lambda: PARTS)
    pages.read_ahead(11, PARTS)
    again = pages.after(11, lambda: PARTS + 1)  # partitions were added to the topic
    assert store.reads == [0, 11, 11]
    assert again.records == encode_page(rows_at(store, 12, 13), SOURCE, SIGNER, 1 << 20, PARTS + 1)


def rows_at(store: Store, *positions: int) -> list[StoredRow]:
    return [row for row in store.stored if row.position in positions]


def test_pages_start_short_and_grow_while_read_ahead() -> None:
    """The relay waits only for a short first page to be encoded; each page read ahead is
    at most three times the one in flight, up to the page size."""
    aggregate = uuid4().hex
    stored = [StoredRow(n, aggregate, n, "events.x:X", b"{}") for n in range(1, 2601)]
    pages = Pages(Store(stored), InlineEncoder(SOURCE, SIGNER), page_size=1000, page_bytes=1 << 30)  # type: ignore[arg-type]
    sizes, position = [], 0
    while page := pages.after(position, lambda: PARTS).rows:
        sizes.append(len(page))
        position = page[-1].position
        pages.read_ahead(position, PARTS)
    assert sizes == [100, 300, 900, 1000, 300]
    assert len(pages.after(1000, lambda: PARTS).rows) == 100  # not read ahead: short again
