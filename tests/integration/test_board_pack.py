"""The board pack as a board reads it: the firm's name, the seal with who sealed it and when,
people's names beside their user ids, a key result changed after lock with its target at
lock and the score against it, and a progress report (progress, not scores) for a cycle
that is not closed. Names and the firm's name are rendered, never digested."""

import csv
import io
import re
from uuid import UUID

from quarter import EXEC, SAM, TOM, plan_quarter

from events import Cycle
from projections.snapshot import SNAPSHOT_FORMAT, snapshot_at
from services.application.people import Person, display_names
from services.application.snapshots import Seal
from services.bootstrap import Platform
from services.reports.snapshot_csv import CSV_COLUMNS, to_csv
from services.reports.snapshot_html import to_html

NAMES = display_names(
    (
        Person("priya", "Priya Shah", "Chief Operating Officer", "Operations"),
        Person("tom", "Tom Becker", "Head of Investor Relations", "Investor relations"),
        Person("sam", "Sam Okafor", "Platform administrator", "Operations"),
    )
)
FIRM = "Hollis & Vane Capital"
CLOSED_EARLY = "the board meets before the quarter ends"


def _render(platform: Platform, cycle_id: UUID, as_of: int | None = None) -> str:
    snapshot = platform.ledger.snapshot(EXEC, cycle_id, as_of)
    seal = platform.ledger.seal_of(EXEC, cycle_id)
    page = to_html(snapshot, f"/v1/cycles/{cycle_id}", firm_name=FIRM, names=NAMES, seal=seal)
    return page.decode("utf-8")


def _mid_quarter(platform: Platform) -> tuple[UUID, UUID]:
    """Locked; Tom checks in 14, 13, 11 days (15 -> 8, a decrease); his target is moved to
    10 days after lock by an approved change request."""
    ledger = platform.ledger
    cycle, _, key_result = plan_quarter(platform)
    ledger.lock_cycle(EXEC, cycle.id)
    for week, value in enumerate((14, 13, 11), start=1):
        ledger.check_in(TOM, key_result.id, value, 0.6, f"week {week}")
    request = ledger.request_change(TOM, key_result.id, {"target": 10}, "migration slipped")
    ledger.approve_change(EXEC, request.id, "agreed")
    return cycle.id, key_result.id


def _row_of(html: str, title: str) -> str:
    start = html.index(f"<td>{title}")
    return html[start : html.index("</tr>", start)]


def test_a_locked_cycle_is_a_progress_report_with_progress_toward_each_target(
    platform: Platform,
) -> None:
    cycle_id, _ = _mid_quarter(platform)
    html = _render(platform, cycle_id)

    assert "progress report, as of " in html and "quarter-end snapshot" not in html
    assert "state: <b>locked</b>" in html
    assert "<th>Progress</th>" in html and "<th>Score</th>" not in html
    row = _row_of(html, "LP reporting turnaround")
    # 15 -> 11 of the way to 10 is 4/5; to the target at lock (8) it is 4/7.
    assert '<span class="score high">80%</span>' in row
    assert "57% toward the target at lock" in row
    assert "at lock: 15 → 8 days" in row and "<b>15 → 10 days</b>" in row
    assert "Mean progress to target" in html and "Mean objective score" not in html
    assert "not scored yet" in html


def test_a_sealed_quarter_names_its_firm_sealer_people_and_the_target_at_lock(
    platform: Platform,
) -> None:
    ledger = platform.ledger
    cycle_id, key_result_id = _mid_quarter(platform)
    ledger.close_cycle(EXEC, cycle_id, CLOSED_EARLY)
    ledger.seal_cycle(SAM, cycle_id)
    seal = ledger.seal_of(TOM, cycle_id)
    assert seal is not None and seal.sealed_by == "sam"

    html = _render(platform, cycle_id, seal.position)

    assert f'<p class="firm">{FIRM.replace("&", "&amp;")}</p>' in html
    assert "quarter-end snapshot" in html and "progress report" not in html
    sealed_at = seal.sealed_at.strftime("%-d %b %Y %H:%M UTC")
    assert f"state: <b>sealed</b> by Sam Okafor (sam) on {sealed_at}" in html
    assert "this is the sealed snapshot" in html and "state: <b>closed</b>" not in html
    assert "Priya Shah (priya)" in html and "Tom Becker (tom)" in html
    row = _row_of(html, "LP reporting turnaround")
    assert "Tom Becker (tom)" in row
    # Scored 0.80 against the changed target (10); against the target at lock (8): 4/7.
    assert '<span class="score high">0.80</span>' in row
    assert "0.57 against the target at lock" in row
    assert "at lock: 15 → 8 days" in row and "<b>15 → 10 days</b>" in row
    changes = html[html.index("Changes after lock") :]
    assert "target: 8 → <b>10</b>" in changes and "score 0.80 as changed" in changes
    assert "Tom Becker (tom)" in changes and "Priya Shah (priya)" in changes

    rows = list(csv.DictReader(io.StringIO(to_csv(ledger.snapshot(TOM, cycle_id), NAMES).decode())))
    [row_csv] = [r for r in rows if r["key_result_id"] == str(key_result_id)]
    assert list(rows[0])[: len(CSV_COLUMNS) - 6] == list(CSV_COLUMNS[:-6])
    assert (row_csv["owner"], row_csv["owner_name"], row_csv["objective_owner_name"]) == (
        "tom", "Tom Becker", "Priya Shah",
    )  # fmt: skip
    assert (row_csv["target"], row_csv["baseline_at_lock"], row_csv["target_at_lock"]) == (
        "10", "15", "8",
    )  # fmt: skip
    assert (row_csv["score"], row_csv["score_against_target_at_lock"]) == ("0.8", "0.5714")


def test_a_later_snapshot_of_a_sealed_cycle_points_to_the_sealed_one(platform: Platform) -> None:
    ledger = platform.ledger
    cycle_id, _ = _mid_quarter(platform)
    before_close = ledger.recorder.max_notification_id()
    ledger.close_cycle(EXEC, cycle_id, CLOSED_EARLY)
    ledger.seal_cycle(SAM, cycle_id)
    seal = ledger.seal_of(EXEC, cycle_id)
    assert seal is not None

    html = _render(platform, cycle_id)  # now: after the seal event, another digest
    assert "state: <b>sealed</b> by Sam Okafor (sam)" in html
    assert f"the sealed snapshot is at position {seal.position}" in html
    # Before the close, the same cycle's report is the progress report it was then.
    locked = _render(platform, cycle_id, before_close)
    assert "progress report, as of" in locked and "sealed</b>" not in locked


def test_names_and_the_firm_are_rendered_not_digested(platform: Platform) -> None:
    ledger = platform.ledger
    cycle_id, _ = _mid_quarter(platform)
    ledger.close_cycle(EXEC, cycle_id, CLOSED_EARLY)
    snapshot = ledger.snapshot(EXEC, cycle_id)
    assert b"Priya Shah" not in snapshot.canonical and b"Tom Becker" not in snapshot.canonical

    named = to_html(snapshot, "/v1/cycles/x", firm_name=FIRM, names=NAMES)
    bare = to_html(snapshot, "/v1/cycles/x")
    assert named == to_html(snapshot, "/v1/cycles/x", firm_name=FIRM, names=dict(NAMES))
    assert named != bare and b"Tom Becker (tom)" in named and b"Tom Becker" not in bare
    digest = re.compile(rb'name="okrgov-snapshot-digest" content="([0-9a-f]{64})"')
    found = digest.search(named)
    assert found and found.group(1).decode() == snapshot.digest
    found_bare = digest.search(bare)
    assert found_bare and found_bare.group(1) == found.group(1)
    # People without a name in the directory are shown by their ids.
    assert '<span class="who">priya</span>' in bare.decode() and "<td>tom</td>" in bare.decode()
    assert ledger.snapshot(EXEC, cycle_id).digest == snapshot.digest


def test_a_seal_is_read_from_its_event(platform: Platform) -> None:
    ledger = platform.ledger
    cycle_id, _ = _mid_quarter(platform)
    assert ledger.seal_of(EXEC, cycle_id) is None
    ledger.close_cycle(EXEC, cycle_id, CLOSED_EARLY)
    sealed = ledger.seal_cycle(SAM, cycle_id)
    seal = ledger.seal_of(EXEC, cycle_id)
    check = ledger.verify_seal(EXEC, cycle_id)
    assert isinstance(seal, Seal) and sealed.id == cycle_id
    assert (seal.position, seal.digest, seal.sealed_by) == (
        check.sealed_position, check.sealed_digest, "sam",
    )  # fmt: skip


def test_the_week_a_check_in_reports_is_in_the_document_and_on_the_page(
    platform: Platform,
) -> None:
    cycle_id, _ = _mid_quarter(platform)
    snapshot = platform.ledger.snapshot(EXEC, cycle_id)
    assert snapshot.document["format"] == SNAPSHOT_FORMAT == "okrgov.snapshot/2"
    [key_result] = snapshot.document["objectives"][0]["key_results"]
    effective_on = key_result["last_check_in"]["effective_on"]
    assert effective_on and key_result["last_check_in"]["at"].startswith(effective_on[:4])
    html = _render(platform, cycle_id)
    week = _row_of(html, "LP reporting turnaround")
    assert "for the week of " in week and "recorded " in week


def test_a_cycle_sealed_under_format_1_still_verifies_as_format_1(platform: Platform) -> None:
    """A seal made before /2 (no effective_on in the document) is re-derived as /1."""
    ledger = platform.ledger
    cycle_id, _ = _mid_quarter(platform)
    ledger.close_cycle(EXEC, cycle_id, CLOSED_EARLY)
    position = ledger.recorder.max_notification_id() or 0
    old = snapshot_at(
        ledger.recorder, ledger.mapper, cycle_id, position, snapshot_format="okrgov.snapshot/1"
    )
    new = ledger.snapshot(EXEC, cycle_id, position)
    assert old.document["format"] == "okrgov.snapshot/1" and old.digest != new.digest
    [key_result] = old.document["objectives"][0]["key_results"]
    assert "effective_on" not in key_result["last_check_in"]
    assert old.through is not None
    cycle = ledger.load(Cycle, cycle_id)
    through = (old.through.originator_id, old.through.originator_version)
    cycle.seal(position, old.digest, "okrgov.snapshot/1", through, ledger.stamp(SAM))
    ledger.record(cycle)

    check = ledger.verify_seal(EXEC, cycle_id)
    assert check.matches and check.snapshot_format == "okrgov.snapshot/1"
    assert check.recomputed_digest == old.digest
    # The report of the sealed /1 snapshot is the sealed one, without the weeks.
    html = to_html(old, "/v1/cycles/x", seal=ledger.seal_of(EXEC, cycle_id))
    assert b"this is the sealed snapshot" in html and b"for the week of" not in html
