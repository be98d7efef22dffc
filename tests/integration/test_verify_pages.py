"""``verify`` reads rows and recorded leaves a page at a time and takes a whole page at once
while everything matched: the verdict must not depend on where the pages end. The store
is altered at a position inside a page, on a page's first and last position, and between
checkpoints, and the report is the same at every page size."""

from dataclasses import replace

import pytest
from integration.test_integrity import RawStore
from quarter import TOM, plan_quarter

from infra.config import Settings
from services.application.evidence import verification
from services.application.evidence.verification import IntegrityReport
from services.bootstrap import Platform

PAGE_SIZES = (1, 2, 3, 7, 2000)


def reports(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> list[IntegrityReport]:
    found = []
    for size in PAGE_SIZES:
        monkeypatch.setattr(verification, "_PAGE", size)
        found.append(platform.evidence.verifier().verify())
    return found


@pytest.mark.parametrize("nth", [0, 6, 7, 13])
def test_a_changed_row_gets_the_same_verdict_at_every_page_size(
    platform: Platform, settings: Settings, monkeypatch: pytest.MonkeyPatch, nth: int
) -> None:
    integrity = platform.evidence.signing()
    _, _, key_result = plan_quarter(platform)
    for week in range(8):
        platform.ledger.check_in(TOM, key_result.id, 15 - week, 0.6, f"week {week}")
        if week % 3 == 2:
            integrity.follower.catch_up()
            assert integrity.record_checkpoint("test") is not None
    integrity.follower.catch_up()
    intact = reports(platform, monkeypatch)
    assert all(r.intact for r in intact)
    assert len({replace(r, checkpoints=()) for r in intact}) == 1

    raw = RawStore(settings, platform)
    check_ins = [
        r.position for r in raw.events.rows() if (r.topic or "").endswith("KeyResult.CheckedIn")
    ]
    position = check_ins[nth % len(check_ins)]
    state = raw.state(position).replace(b"week", b"wEEk")
    raw.execute(("UPDATE {events} SET state = ? WHERE {pos} = ?", (state, position)))
    altered = reports(platform, monkeypatch)
    assert {(r.problem.position, r.problem.reason) for r in altered if r.problem} == {
        (position, "changed")
    }
    assert len({(r.checked_up_to, r.events_checked, r.checkpoints_verified) for r in altered}) == 1


def test_verify_reads_the_rows_as_the_raw_reader_does(platform: Platform) -> None:
    _, _, key_result = plan_quarter(platform)
    platform.ledger.check_in(TOM, key_result.id, 14, 0.6, "week 1")
    follower = platform.evidence.leaf_log
    follower.catch_up()
    events = follower.events
    for after, limit in ((0, 3), (2, 1000), (5, 4)):
        rows, positions, leaves = follower.view.rows_and_leaves(events, after, limit)
        assert rows == events.page(after, limit)
        logged = [r for r in follower.view.leaves(after) if r.position <= rows[-1].position]
        assert positions == [r.position for r in logged]
        assert leaves == [r.leaf for r in logged]
