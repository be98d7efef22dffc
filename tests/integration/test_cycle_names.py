"""Cycle names are unique, on both backends, across two applications on one store (as two
processes are) and under a race; and closing a cycle before its end date needs a reason,
which is recorded."""

import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from kafka_broker import cli_env
from quarter import EXEC, SAM

from events import Cycle, clock
from events.cycle_name import CycleName, CycleNameTaken, compared, reservation_id
from events.errors import ReasonRequired
from infra.config import Settings
from services.bootstrap import Platform, build

Q2 = ("2027-Q2", date(2027, 4, 1), date(2027, 6, 30))


@pytest.fixture
def two(settings: Settings) -> Any:
    first, second = build(settings), build(settings)
    yield first, second
    second.close()
    first.close()


def test_names_compare_trimmed_case_folded_and_nfkc() -> None:
    full_width = "\uff12\uff10\uff12\uff17-\uff31\uff12"
    assert compared(" 2027-q2 ") == compared("2027-Q2") == compared(full_width)
    assert compared("2027  Q2") == compared("2027 q2")
    assert compared("2027-Q2") != compared("2027-Q3")
    assert reservation_id("2027-q2 ") == reservation_id("2027-Q2")


def test_a_name_taken_in_any_spelling_is_refused_naming_the_cycle(platform: Platform) -> None:
    first = platform.ledger.open_cycle(EXEC, *Q2)
    with pytest.raises(CycleNameTaken) as refused:
        platform.ledger.open_cycle(SAM, "2027-q2 ", date(2027, 4, 1), date(2027, 6, 30))
    message = refused.value.message
    assert str(first.id) in message and "2027-04-01" in message and "2027-06-30" in message
    assert "NFKC" in message and refused.value.field == "name"
    assert refused.value.cycle_id == first.id
    # Nothing of the refused attempt was recorded (not even a decision).
    assert platform.ledger.recorder.max_notification_id() == first.position
    reserved = platform.ledger.repository.get(reservation_id("2027-Q2"))
    assert isinstance(reserved, CycleName) and reserved.cycle_id == first.id
    assert platform.ledger.open_cycle(EXEC, "2027-Q3", date(2027, 7, 1), date(2027, 9, 30))


def test_another_application_on_the_store_sees_the_name_taken(
    two: tuple[Platform, Platform],
) -> None:
    first, second = two
    first.ledger.open_cycle(EXEC, *Q2)
    with pytest.raises(CycleNameTaken):
        second.ledger.open_cycle(EXEC, "2027-Q2", date(2027, 5, 1), date(2027, 7, 31))


def test_two_applications_racing_for_one_name_let_exactly_one_in(
    two: tuple[Platform, Platform], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second application has checked the name (free) and is asking the guardrails
    when the first one saves its cycle: its save then conflicts on the reservation, and
    its retry finds the name taken."""
    first, second = two
    checked = threading.Event()
    saved = threading.Event()
    guard = second.ledger.guard
    real_check = guard.check

    def check_after_the_other_saved(*args: Any, **kwargs: Any) -> Any:
        if not checked.is_set():
            checked.set()
            assert saved.wait(30)
        return real_check(*args, **kwargs)

    monkeypatch.setattr(guard, "check", check_after_the_other_saved)
    outcome: list[Any] = []

    def racer() -> None:
        try:
            outcome.append(second.ledger.open_cycle(EXEC, *Q2))
        except CycleNameTaken as exc:
            outcome.append(exc)

    thread = threading.Thread(target=racer)
    thread.start()
    assert checked.wait(30)
    won = first.ledger.open_cycle(EXEC, *Q2)
    saved.set()
    thread.join(30)
    [lost] = outcome
    assert isinstance(lost, CycleNameTaken) and lost.cycle_id == won.id
    created = [
        n
        for n in first.ledger.recorder.select_notifications(1, 1000)
        if n.topic.endswith("Cycle.Created")
    ]
    assert len(created) == 1


def test_a_cycle_recorded_before_names_were_reserved_still_holds_its_name(
    platform: Platform,
) -> None:
    """An old store: a cycle saved without a reservation (as every cycle was before)."""
    stamp = platform.ledger.stamp(EXEC)
    old = Cycle.open("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), stamp)
    platform.ledger.save(old)
    with pytest.raises(CycleNameTaken) as refused:
        platform.ledger.open_cycle(EXEC, "2026-q4", date(2026, 10, 1), date(2026, 12, 31))
    assert refused.value.cycle_id == old.id
    with pytest.raises(CycleNameTaken):  # and again, from what the first look-up read
        platform.ledger.open_cycle(EXEC, " 2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    assert platform.ledger.open_cycle(EXEC, "2027-Q1", date(2027, 1, 1), date(2027, 3, 31))


def _locked(platform: Platform, name: str, starts_on: date, ends_on: date) -> UUID:
    cycle = platform.ledger.open_cycle(EXEC, name, starts_on, ends_on).id
    platform.ledger.lock_cycle(EXEC, cycle)
    return cycle


def test_closing_before_the_end_date_needs_a_reason_which_is_recorded(
    platform: Platform,
) -> None:
    ledger = platform.ledger
    cycle = _locked(platform, *Q2)
    before = ledger.recorder.max_notification_id()
    with clock.at(datetime.fromisoformat("2027-06-29T12:00:00+00:00")):
        with pytest.raises(ReasonRequired) as refused:
            ledger.close_cycle(EXEC, cycle)
        with pytest.raises(ReasonRequired):
            ledger.close_cycle(EXEC, cycle, "   ")
        assert ledger.recorder.max_notification_id() == before
        assert refused.value.field == "reason"
        assert "closing before the cycle's end date (2027-06-30) needs a reason" in str(
            refused.value
        )
        ledger.close_cycle(EXEC, cycle, "the fund closed early")
    closed = ledger.repository.get(cycle)
    assert closed.state == "closed"
    [event] = [e for e in ledger.repository.event_store.get(cycle) if type(e) is Cycle.Closed]
    assert event.reason == "the fund closed early"


def test_closing_on_or_after_the_end_date_needs_no_reason(platform: Platform) -> None:
    cycle = _locked(platform, *Q2)
    with clock.at(datetime.fromisoformat("2027-06-30T08:00:00+00:00")):
        platform.ledger.close_cycle(EXEC, cycle)
    [event] = [
        e for e in platform.ledger.repository.event_store.get(cycle) if type(e) is Cycle.Closed
    ]
    assert event.reason is None


RACER = r"""
import sys, time
from datetime import date
from pathlib import Path

from events.cycle_name import CycleNameTaken
from infra.config import Settings
from services.application.principals import Principal
from services.bootstrap import build

go = Path(sys.argv[1])
platform = build(Settings())
try:
    executive = Principal.of("priya", ["executive"])
    while not go.exists():
        time.sleep(0.001)
    try:
        won = platform.ledger.open_cycle(executive, "2027-Q2", date(2027, 4, 1), date(2027, 6, 30))
        print("won", won.id)
    except CycleNameTaken as exc:
        print("taken", exc.cycle_id)
finally:
    platform.close()
"""


def test_two_processes_opening_one_name_at_the_same_instant_let_exactly_one_in(
    settings: Settings, platform: Platform, tmp_path: Path
) -> None:
    """Each racer's first decision starts its policy worker (about a second), so both
    find the name free before either saves: the store refuses the second save, and that
    racer's retry finds the name taken."""
    go = tmp_path / "go"
    env = cli_env(settings)
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(go)], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    time.sleep(1.0)  # both built and waiting
    go.touch()
    said = [racer.communicate(timeout=120)[0].splitlines() for racer in racers]
    answers = sorted(
        line.split() for lines in said for line in lines if line[:4] in ("won ", "take")
    )
    assert [a[0] for a in answers] == ["taken", "won"], answers
    assert answers[0][1] == answers[1][1]  # the loser names the winner's cycle
    created = [
        n
        for n in platform.ledger.recorder.select_notifications(1, 1000)
        if n.topic.endswith("Cycle.Created")
    ]
    assert [n.originator_id for n in created] == [UUID(answers[1][1])]
