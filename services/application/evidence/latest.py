"""The latest checkpoint whose signature verifies, found from the end of the event table:
what an inclusion or consistency proof is given, in O(1) reads for a store that signs
regularly, where judging every checkpoint (``recorded_checkpoints``, what ``verify``
reports) reads the whole table.

The checkpoint rows are read newest first, a few at a time (the table has no index on
the topic, but a backward scan by position stops at the first rows of that topic), each
judged as ``recorded_checkpoints`` judges it, until one is ``VALID``: the same checkpoint
as the last valid one of the full list (tests/integration/test_latest_checkpoint.py)."""

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder

from infra.stored_events import StoredEvents
from services.application.evidence.checkpoints import (
    CHECKPOINT_TOPIC,
    SignedCheckpoint,
    judged,
    recorded_checkpoints,
)
from services.application.evidence.keyring import Keyring
from services.application.ledger_base import LedgerBase

_PAGE = 16


def latest_valid_checkpoint(
    ledger: LedgerBase, keyring: Keyring, trusted_key: str | None = None
) -> SignedCheckpoint | None:
    """The checkpoint with the highest position whose status is ``VALID`` (None: none)."""
    try:
        rows = _newest_first(ledger, CHECKPOINT_TOPIC)
    except TypeError:  # a store without a table to read backwards (the in-memory one)
        valid = [c for c in recorded_checkpoints(ledger, keyring, trusted_key) if c.signature_valid]
        return valid[-1] if valid else None
    for notification in rows:
        try:
            event: Any = ledger.mapper.to_domain_event(notification)
        except Exception as exc:  # a rewritten row may not even decode
            event = exc
        checkpoint = judged(notification.id, event, keyring, trusted_key)
        if checkpoint.signature_valid:
            return checkpoint
    return None


def _newest_first(ledger: LedgerBase, topic: str) -> Iterator[Notification]:
    events = StoredEvents(ledger.recorder)  # TypeError: not a database table
    postgres = isinstance(ledger.recorder, PostgresApplicationRecorder)
    pos, mark = ("notification_id", "%s") if postgres else ("rowid", "?")
    sql = (
        f"SELECT {pos} AS id, originator_id, originator_version, topic, state "
        f"FROM {events.table} WHERE topic = {mark} AND {pos} < {mark} "
        f"ORDER BY {pos} DESC LIMIT {mark}"
    )
    return _pages(events, sql, topic)


def _pages(events: StoredEvents, sql: str, topic: str) -> Iterator[Notification]:
    """Newest first: one row (the scan back stops at the latest checkpoint, usually the
    one wanted), then pages of ``_PAGE``."""
    before, limit = 2**63 - 1, 1
    while True:
        with events.datastore.transaction(commit=False) as c:
            c.execute(sql, (topic, before, limit))
            rows = c.fetchall()
        for r in rows:
            originator = r["originator_id"]
            yield Notification(
                id=r["id"],
                originator_id=originator if isinstance(originator, UUID) else UUID(originator),
                originator_version=r["originator_version"],
                topic=r["topic"],
                state=bytes(r["state"]),
            )
        if len(rows) < limit:
            return
        before, limit = rows[-1]["id"], _PAGE
