"""Two commands racing on one aggregate never lose an update: the loser is retried from
fresh state, or answered with Conflict when the race never ends. Both backends."""

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from quarter import EXEC, TOM, plan_quarter

from events import KeyResult
from events.errors import InvalidValue
from infra.config import Settings
from services.application.errors import Conflict
from services.bootstrap import Platform, build

THREADS = 6
CHECK_INS_EACH = 8


@pytest.fixture
def second_platform(settings: Settings) -> Iterator[Platform]:
    """Another process's view of the same store: its own ledger and aggregate cache."""
    other = build(settings)
    yield other
    other.close()


def _check_in_count(platform: Platform, key_result_id: Any) -> int:
    aggregate = platform.ledger.repository.get(key_result_id)
    assert isinstance(aggregate, KeyResult)
    return len(aggregate.check_ins)


def test_threads_checking_in_on_one_key_result_lose_nothing(
    platform: Platform, second_platform: Platform
) -> None:
    _, _, key_result = plan_quarter(platform)
    barrier = threading.Barrier(THREADS)
    succeeded: list[int] = []
    conflicts: list[int] = []

    def worker(n: int) -> None:
        ledger = (platform if n % 2 else second_platform).ledger
        barrier.wait()
        for i in range(CHECK_INS_EACH):
            try:
                ledger.check_in(TOM, key_result.id, n * 100 + i, 0.5, f"thread {n}")
                succeeded.append(n)
            except Conflict:
                conflicts.append(n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(succeeded) + len(conflicts) == THREADS * CHECK_INS_EACH
    # Every answered success is in the store, and nothing else is.
    assert _check_in_count(platform, key_result.id) == len(succeeded)
    stored = platform.ledger.events.get(key_result.id)
    versions = [e.originator_version for e in stored]
    assert versions == list(range(1, len(versions) + 1))


def test_a_stale_writer_is_retried_and_keeps_both_updates(
    platform: Platform, second_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, key_result = plan_quarter(platform)
    ledger = platform.ledger
    original = ledger.key_result_context
    raced = []

    def load_then_lose_the_race(ident: Any) -> Any:
        loaded = original(ident)
        if not raced:  # another writer commits between our load and our save
            raced.append(True)
            second_platform.ledger.check_in(TOM, key_result.id, 11, 0.4, "the other writer")
        return loaded

    monkeypatch.setattr(ledger, "key_result_context", load_then_lose_the_race)
    ledger.check_in(TOM, key_result.id, 12, 0.5, "the stale writer")
    assert _check_in_count(platform, key_result.id) == 2


def test_a_race_that_never_ends_answers_conflict_and_records_nothing(
    platform: Platform, second_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, key_result = plan_quarter(platform)
    ledger = platform.ledger
    original = ledger.key_result_context
    # The second process's first decision starts its policy worker (and checks the
    # compiled program against the interpreter): done before the race, so that each
    # attempt within the budget is a race, not a worker starting.
    second_platform.ledger.check_in(EXEC, key_result.id, 10, 0.4, "warm")
    monkeypatch.setattr(ledger, "conflict_budget_seconds", 0.2)

    def always_lose(ident: Any) -> Any:
        loaded = original(ident)
        second_platform.ledger.check_in(EXEC, key_result.id, 11, 0.4, "always first")
        return loaded

    monkeypatch.setattr(ledger, "key_result_context", always_lose)
    with pytest.raises(Conflict):
        ledger.check_in(TOM, key_result.id, 12, 0.5, "never lands")
    notes = [c[2] for c in platform.ledger.repository.get(key_result.id).check_ins]
    raced = notes[notes.index("warm") + 1 :]
    # Retried from fresh state until the budget ran out: every attempt lost, none landed.
    assert len(raced) >= 2 and set(raced) == {"always first"}


def test_racing_realignments_cannot_form_a_loop(
    platform: Platform, second_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    cycle, firm, _ = plan_quarter(platform)
    ledger = platform.ledger
    a = ledger.create_objective(
        EXEC, cycle.id, "Team A", "priya", "team", "committed", parent_id=firm.id
    )
    b = ledger.create_objective(
        EXEC, cycle.id, "Team B", "priya", "team", "committed", parent_id=firm.id
    )
    original = ledger.check_parent
    raced: list[bool] = []

    def check_then_race(*args: Any) -> None:
        original(*args)
        if not raced:  # B moves under A after our check of A-under-B passed
            raced.append(True)
            second_platform.ledger.realign_objective(EXEC, b.id, a.id, "B reports to A")

    monkeypatch.setattr(ledger, "check_parent", check_then_race)
    with pytest.raises(InvalidValue):
        ledger.realign_objective(EXEC, a.id, b.id, "A reports to B")
    assert ledger.repository.get(a.id).parent_id == firm.id
