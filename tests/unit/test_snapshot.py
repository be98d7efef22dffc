"""Snapshots without a database: canonical JSON as RFC 8785 defines it, and the snapshot as
a pure function of the events up to a position or a moment (over an in-memory store)."""

import hashlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from okr_builders import PRIYA, TOM, definition

from events import ChangeRequest, Cycle, CycleState, KeyResult, Objective
from events.decision import Decision
from events.errors import CycleClosed, InvalidTransition, NotSealed
from events.policy import PolicyVersion
from projections.snapshot import (
    CycleNotFound,
    fold,
    jcs,
    position_at,
    sha256_hex,
    snapshot_at,
    snapshot_of,
)

# ---- canonical JSON (RFC 8785) --------------------------------------------------------


def test_keys_are_sorted_by_utf16_code_units_at_every_depth() -> None:
    # RFC 8785 section 3.2.3: the emoji (surrogates D83D DE00) sorts before U+FB33 in UTF-16
    # although its code point (U+1F600) is higher.
    document = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
        "nested": {"b": [{"z": 1, "a": 2}], "a": None},
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","nested":{"a":null,"b":[{"a":2,"z":1}]},'
        '"\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",'
        '"\u20ac":"Euro Sign","\U0001f600":"Emoji: Grinning Face",'
        '"\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    )
    assert jcs(document) == expected.encode("utf-8")


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1.0, "1"),
        (15.0, "15"),
        (-0.0, "0"),
        (0.5714, "0.5714"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (1e15, "1000000000000000"),
        (-2.5, "-2.5"),
        (0.1 + 0.2, "0.30000000000000004"),
    ],
)
def test_numbers_are_written_as_ecmascript_prints_them(number: float, text: str) -> None:
    assert jcs({"n": number}) == f'{{"n":{text}}}'.encode()


def test_strings_are_utf8_with_only_the_required_escapes() -> None:
    document = {"s": 'Größe €5 "quoted" back\\slash /slash\n\t\x1f'}
    assert jcs(document) == (
        '{"s":"Größe €5 \\"quoted\\" back\\\\slash /slash\\n\\t\\u001f"}'.encode()
    )


def test_no_whitespace_and_literals_in_lowercase() -> None:
    assert jcs({"a": [True, False, None], "b": {}}) == b'{"a":[true,false,null],"b":{}}'


def test_the_digest_is_sha256_of_the_canonical_bytes() -> None:
    document = {"b": 1.0, "a": "x"}
    snapshot = snapshot_of(uuid4(), 7, document)
    assert snapshot.canonical == b'{"a":"x","b":1}'
    assert snapshot.digest == hashlib.sha256(b'{"a":"x","b":1}').hexdigest()
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_the_position_is_beside_the_digest_not_in_it() -> None:
    document = {"cycle": "2026-Q4"}
    assert snapshot_of(uuid4(), 3, document).digest == snapshot_of(uuid4(), 300, document).digest


# ---- a quarter in an in-memory store --------------------------------------------------


class Store:
    """An in-memory event store (eventsourcing's POPO recorder) and the events saved."""

    def __init__(self) -> None:
        self.app: Application[Any] = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.events: list[Any] = []

    def record(self, *aggregates: Aggregate) -> int:
        """Save the aggregates' pending events in time order; the position of the last."""
        pending = sorted((e for a in aggregates for e in a.collect_events()), key=_time)
        recordings = self.app.save(*pending)
        self.events.extend(pending)
        return max(r.notification.id for r in recordings)

    def snapshot(self, cycle: Cycle, position: int | None = None) -> Any:
        last = self.app.recorder.max_notification_id() or 0
        return snapshot_at(self.app.recorder, self.app.mapper, cycle.id, position or last)


def _time(event: Any) -> Any:
    return event.timestamp


class Quarter:
    """Priya's 2026-Q4: planned, locked, one change request applied, checked in, closed."""

    def __init__(self, store: Store, *, first: bool = True) -> None:
        self.store = store
        self.policy = PolicyVersion.propose(1, {"g.rego": "package g"}, {}, "v1", "d1", PRIYA)
        self.policy.approve(PRIYA, seed=True)
        if first:  # the store's policy version 1
            store.record(self.policy)
        self.cycle = Cycle.open("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), PRIYA)
        self.firm = Objective.create(
            self.cycle.id, "Strengthen operations", "", "priya", "company", "committed", None, PRIYA
        )
        self.cycle.register_objective(self.firm.id, PRIYA)
        self.team = Objective.create(
            self.cycle.id, "LP reporting", "", "tom", "team", "aspirational", self.firm.id, TOM
        )
        self.cycle.register_objective(self.team.id, TOM)
        self.kr = KeyResult.add(self.team.id, self.cycle.id, definition(), TOM)
        self.team.attach_key_result(self.kr.id, TOM)
        self.planned = store.record(self.cycle, self.firm, self.team, self.kr)

    def lock(self) -> int:
        self.cycle.lock(PRIYA)
        return self.store.record(self.cycle)

    def check_in(self, value: float, confidence: float) -> int:
        self.kr.check_in(value, confidence, "", self.cycle, TOM)
        return self.store.record(self.kr)

    def change_target(self, target: float) -> int:
        request = ChangeRequest.request(self.kr.id, {"target": target}, False, "slipped", TOM)
        self.store.record(request)
        request.approve(PRIYA)
        self.kr.revise({"target": target}, "slipped", self.cycle.state, PRIYA, request)
        request.mark_applied(PRIYA)
        return self.store.record(request, self.kr)

    def close(self) -> int:
        self.cycle.close(PRIYA, "the board meets before the quarter ends")
        score = self.kr.record_score(PRIYA)
        self.team.record_score({str(self.kr.id): score}, PRIYA)
        self.firm.record_score({}, PRIYA)
        return self.store.record(self.cycle, self.kr, self.team, self.firm)


@pytest.fixture
def store() -> Iterator[Store]:
    store = Store()
    yield store
    store.app.close()


@pytest.fixture
def quarter(store: Store) -> Quarter:
    return Quarter(store)


def test_the_snapshot_holds_what_the_board_sees(quarter: Quarter) -> None:
    quarter.lock()
    quarter.check_in(13, 0.6)
    quarter.change_target(10)
    quarter.check_in(11, 0.7)
    quarter.close()
    doc = quarter.store.snapshot(quarter.cycle).document

    assert doc["cycle"]["name"] == "2026-Q4" and doc["cycle"]["state"] == "closed"
    assert [o["title"] for o in doc["objectives"]] == ["Strengthen operations", "LP reporting"]
    kr = doc["objectives"][1]["key_results"][0]
    assert (kr["baseline"], kr["target"], kr["check_in_count"]) == (15.0, 10.0, 2)
    assert kr["last_check_in"]["value"] == 11 and kr["last_check_in"]["confidence"] == 0.7
    assert kr["score"]["value"] == 0.8 and kr["score"]["rule"] == "linear-clamped"
    assert doc["objectives"][1]["score"]["rule_version"] == 1
    assert doc["alignment"] == [
        {"id": str(quarter.firm.id), "children": [{"id": str(quarter.team.id), "children": []}]}
    ]
    [change] = doc["changes_after_lock"]
    assert (change["before"], change["after"]) == ({"target": 8.0}, {"target": 10.0})
    assert (change["requested_by"], change["approved_by"], change["reason"]) == (
        "tom",
        "priya",
        "slipped",
    )
    assert doc["policy"]["number"] == 1 and doc["policy"]["digest"] == "d1"
    assert doc["counts"]["check_ins"] == 2 and doc["counts"]["changes_after_lock"] == 1
    # Nothing of a read model's bookkeeping leaks into the digested document.
    assert "version" not in kr and "updated_at" not in doc["cycle"] and "seal" not in doc["cycle"]


def test_same_events_give_the_same_bytes_and_digest(quarter: Quarter) -> None:
    quarter.lock()
    quarter.check_in(13, 0.6)
    first, second = quarter.store.snapshot(quarter.cycle), quarter.store.snapshot(quarter.cycle)
    assert first.canonical == second.canonical and first.digest == second.digest
    # The pure fold over the same domain events gives the very same document.
    assert jcs(fold(quarter.cycle.id, quarter.store.events)) == first.canonical


def test_as_of_a_position_excludes_later_events(quarter: Quarter) -> None:
    locked = quarter.lock()
    first = quarter.check_in(13, 0.6)
    at_first = quarter.store.snapshot(quarter.cycle, first)
    quarter.check_in(12, 0.65)
    quarter.change_target(10)
    closed = quarter.close()

    again = quarter.store.snapshot(quarter.cycle, first)
    assert again.canonical == at_first.canonical
    kr = again.document["objectives"][1]["key_results"][0]
    assert kr["last_check_in"]["value"] == 13 and kr["target"] == 8 and kr["score"] is None
    assert again.document["changes_after_lock"] == []
    assert quarter.store.snapshot(quarter.cycle, locked).document["cycle"]["state"] == "locked"
    assert quarter.store.snapshot(quarter.cycle, closed).digest != at_first.digest


def test_before_the_cycle_was_opened_there_is_no_snapshot(quarter: Quarter) -> None:
    with pytest.raises(CycleNotFound):
        quarter.store.snapshot(quarter.cycle, 1)  # position 1: only the policy existed


def test_other_cycles_and_decisions_do_not_change_the_digest(store: Store) -> None:
    quarter = Quarter(store)
    before = store.snapshot(quarter.cycle)
    Quarter(store, first=False).lock()  # another cycle, planned and locked
    decision = Decision.record(
        action="cycle.lock", roles=["executive"], target_kind="cycle", target_id=quarter.cycle.id,
        outcome="denied", deny=[{"rule": "r", "message": "m"}], warn=[], policy_version=1,
        bundle_digest="d1", input_digest="x", error=None, stamp=PRIYA,
    )  # fmt: skip
    store.record(decision)
    after = store.snapshot(quarter.cycle)
    assert after.position > before.position
    assert after.canonical == before.canonical


def test_the_policy_is_the_one_active_at_the_position(quarter: Quarter) -> None:
    store = quarter.store
    under_v1 = store.snapshot(quarter.cycle)
    proposed = PolicyVersion.propose(2, {"g.rego": "package g"}, {}, "v2", "d2", PRIYA)
    store.record(proposed)
    assert store.snapshot(quarter.cycle).document["policy"]["number"] == 1  # not approved
    # Never compared under both engines (this test records it directly): accepted as such.
    proposed.approve(TOM, acknowledge_divergence=True, reason="a snapshot test's version")
    quarter.policy.retire(2, TOM)
    store.record(proposed, quarter.policy)
    now = store.snapshot(quarter.cycle)
    assert (now.document["policy"]["number"], now.document["policy"]["digest"]) == (2, "d2")
    assert store.snapshot(quarter.cycle, under_v1.position).canonical == under_v1.canonical


def test_as_of_a_moment_is_the_last_position_recorded_by_then(quarter: Quarter) -> None:
    store = quarter.store
    quarter.lock()
    first = quarter.check_in(13, 0.6)
    quarter.check_in(12, 0.65)
    recorder, mapper = store.app.recorder, store.app.mapper

    def last_recorded_by(moment: datetime) -> int:  # positions count the events from 1
        return max((i for i, e in enumerate(store.events, 1) if e.timestamp <= moment), default=0)

    moment = store.events[first - 1].timestamp
    assert position_at(recorder, mapper, moment) == last_recorded_by(moment) >= first
    assert position_at(recorder, mapper, moment + timedelta(days=1)) == len(store.events)
    assert position_at(recorder, mapper, store.events[0].timestamp - timedelta(days=1)) == 0
    at_moment = store.snapshot(quarter.cycle, position_at(recorder, mapper, moment))
    kr = at_moment.document["objectives"][1]["key_results"][0]
    assert kr["last_check_in"]["value"] == 13


def test_reading_in_small_pages_gives_the_same_snapshot(quarter: Quarter) -> None:
    quarter.lock()
    for week in range(5):
        quarter.check_in(14 - week, 0.6)
    quarter.close()
    store = quarter.store
    last = store.app.recorder.max_notification_id() or 0
    whole = snapshot_at(store.app.recorder, store.app.mapper, quarter.cycle.id, last)
    paged = snapshot_at(store.app.recorder, store.app.mapper, quarter.cycle.id, last, page_size=2)
    assert paged.canonical == whole.canonical and paged.through == whole.through


def test_only_a_closed_cycle_is_sealed_once_and_then_nothing_changes(quarter: Quarter) -> None:
    through = (quarter.kr.id, 3)
    quarter.lock()
    with pytest.raises(InvalidTransition, match="only a closed cycle"):
        quarter.cycle.seal(9, "f" * 64, "okrgov.snapshot/1", through, PRIYA)
    with pytest.raises(NotSealed):
        quarter.cycle.require_sealed()
    quarter.close()
    quarter.cycle.seal(9, "f" * 64, "okrgov.snapshot/1", through, PRIYA)
    assert quarter.cycle.state == CycleState.SEALED
    assert (quarter.cycle.sealed_position, quarter.cycle.sealed_through) == (9, through)
    with pytest.raises(InvalidTransition, match="already sealed"):
        quarter.cycle.seal(9, "f" * 64, "okrgov.snapshot/1", through, PRIYA)
    with pytest.raises(CycleClosed):
        quarter.kr.check_in(1, 0.5, "", quarter.cycle, TOM)
    with pytest.raises(CycleClosed):
        quarter.kr.revise({"target": 9}, "late", quarter.cycle.state, PRIYA)
    with pytest.raises(CycleClosed):
        quarter.cycle.require_open()
