"""The snapshot read through the store's snapshot index (only the cycle's events) against
the snapshot read from every notification (``scan_snapshot_at``), on both backends: the
same document, bytes, digest and ``through`` event at every position of a governed
quarter with a second cycle opened after the index was first caught up, and the same
seal re-derivation."""

from datetime import date
from uuid import UUID

import rfc8785
from quarter import EXEC, record_governed_quarter

from projections import canonical_json
from projections.snapshot import (
    CycleNotFound,
    Snapshot,
    scan_snapshot_at,
    scan_snapshot_through,
    snapshot_at,
    snapshot_index,
    snapshot_through,
)
from services.bootstrap import Platform


def both_ways(platform: Platform, cycle_id: UUID, position: int) -> Snapshot | None:
    """The snapshot read both ways (None when the cycle was not open yet), compared."""
    recorder, mapper = platform.ledger.recorder, platform.ledger.mapper
    try:
        old = scan_snapshot_at(recorder, mapper, cycle_id, position, page_size=7)
    except CycleNotFound:
        old = None
    try:
        new = snapshot_at(recorder, mapper, cycle_id, position)
    except CycleNotFound:
        assert old is None, position
        return None
    assert old is not None, position
    assert new.canonical == old.canonical, position
    assert (new.digest, new.through, new.position) == (old.digest, old.through, old.position)
    return new


def test_the_indexed_snapshot_is_the_scanned_snapshot_at_every_position(
    platform: Platform,
) -> None:
    ledger = platform.ledger
    recorder, mapper = ledger.recorder, ledger.mapper
    record_governed_quarter(platform)
    governed = next(
        UUID(str(n.originator_id))
        for n in recorder.select_notifications(1, 100)
        if n.topic.endswith("Cycle.Created")
    )
    first_last = recorder.max_notification_id() or 0
    made = [both_ways(platform, governed, p) for p in range(1, first_last + 1)]
    assert made.count(None) < first_last / 4  # only before the cycle was opened

    # Events after the index was caught up: it catches up on the next snapshot.
    other = ledger.open_cycle(EXEC, "2027-Q1", date(2027, 1, 1), date(2027, 3, 31))
    objective = ledger.create_objective(EXEC, other.id, "Other", "tom", "team", "committed")
    last = recorder.max_notification_id() or 0
    index = snapshot_index(recorder, mapper)
    assert index is not None and index.position() == last
    members = index.members(governed)
    assert objective.id.hex not in members and other.id.hex not in members
    assert objective.id.hex in index.members(other.id)
    for position in range(first_last - 3, last + 1):
        both_ways(platform, governed, position)
        both_ways(platform, other.id, position)
    at_end = both_ways(platform, other.id, last)
    assert at_end is not None and len(at_end.document["objectives"]) == 1
    sealed = both_ways(platform, governed, last)
    assert sealed is not None and sealed.canonical == rfc8785.dumps(sealed.document)
    canonical_json._plain(sealed.document)  # the C encoder's path, not the package's

    assert ledger.verify_seal(EXEC, governed).matches
    through = scan_snapshot_at(recorder, mapper, governed, first_last).through
    assert through is not None
    assert snapshot_through(recorder, mapper, governed, through) == scan_snapshot_through(
        recorder, mapper, governed, through
    )
