"""Quarter-end snapshots on real stores: sealing after close and verifying on SQLite and
PostgreSQL, the refusals, and the same history giving the same bytes and digest on both
backends (a SQLite quarter copied byte for byte into PostgreSQL) and after a rebuild."""

from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent
from psycopg import sql
from quarter import EXEC, TOM, plan_quarter

from events import Cycle
from events.errors import InvalidTransition, NotSealed
from infra.config import Settings
from infra.persistence import eventsourcing_env
from projections.snapshot import SNAPSHOT_FORMAT
from services.application.errors import Forbidden
from services.application.ledger import Ledger
from services.application.principals import Principal
from services.bootstrap import Platform, build

MARCUS = Principal.of("marcus", ["compliance"])
SAM = Principal.of("sam", ["admin"])


def close_a_quarter(platform: Platform) -> UUID:
    """Plan, lock, four weekly check-ins, an approved change of target, close."""
    ledger = platform.ledger
    cycle, _, key_result = plan_quarter(platform)
    ledger.lock_cycle(EXEC, cycle.id)
    for week in range(4):
        ledger.check_in(TOM, key_result.id, 15 - week, 0.6, f"week {week + 1}")
    request = ledger.request_change(TOM, key_result.id, {"target": 10}, "migration slipped")
    ledger.approve_change(EXEC, request.id, "agreed")
    ledger.close_cycle(EXEC, cycle.id, "closed before its end date in a test")
    return cycle.id


def last_position(platform: Platform) -> int:
    return platform.ledger.recorder.max_notification_id() or 0


def test_a_sealed_quarter_verifies_after_later_events_and_a_rebuild(platform: Platform) -> None:
    ledger = platform.ledger
    cycle_id = close_a_quarter(platform)
    at_close = ledger.snapshot(EXEC, cycle_id)

    ledger.seal_cycle(SAM, cycle_id)
    check = ledger.verify_seal(MARCUS, cycle_id)
    assert check.matches
    assert (check.sealed_digest, check.recomputed_digest) == (at_close.digest, at_close.digest)
    assert check.position == check.sealed_position == at_close.position
    assert (check.snapshot_format, check.sealed_by) == (SNAPSHOT_FORMAT, "sam")

    platform.catch_up()
    cycle = platform.okr_state.get("cycle", str(cycle_id))
    assert cycle is not None and cycle["state"] == "sealed"
    assert cycle["seal"] == {"position": at_close.position, "digest": at_close.digest}
    seals = [
        d for d in platform.governance.find("decision", "allowed") if d["action"] == "cycle.seal"
    ]
    assert [d["target_id"] for d in seals] == [str(cycle_id)]

    # Later events, this cycle's own seal among them, do not move what was sealed.
    ledger.open_cycle(EXEC, "2027-Q1", date(2027, 1, 1), date(2027, 3, 31))
    now = ledger.snapshot(EXEC, cycle_id)
    assert now.document["cycle"]["state"] == "sealed" and now.digest != at_close.digest
    platform.rebuild()
    assert ledger.verify_seal(EXEC, cycle_id).matches
    again = ledger.snapshot(EXEC, cycle_id, at_close.position)
    assert again.canonical == at_close.canonical


def test_sealing_is_refused_before_close_twice_and_to_other_roles(platform: Platform) -> None:
    ledger = platform.ledger
    cycle, _, key_result = plan_quarter(platform)
    with pytest.raises(NotSealed):
        ledger.verify_seal(EXEC, cycle.id)
    ledger.lock_cycle(EXEC, cycle.id)
    before = last_position(platform)
    with pytest.raises(InvalidTransition, match="only a closed cycle"):
        ledger.seal_cycle(EXEC, cycle.id)
    assert last_position(platform) == before  # nothing recorded, not even a decision
    ledger.close_cycle(EXEC, cycle.id, "closed before its end date in a test")
    for principal in (TOM, MARCUS):
        with pytest.raises(Forbidden):
            ledger.seal_cycle(principal, cycle.id)
    ledger.seal_cycle(EXEC, cycle.id)
    sealed = last_position(platform)
    with pytest.raises(InvalidTransition, match="already sealed"):
        ledger.seal_cycle(EXEC, cycle.id)
    assert last_position(platform) == sealed
    # A sealed cycle is over: no check-in, no revision.
    with pytest.raises(Exception, match=r"closed|sealed"):
        ledger.check_in(TOM, key_result.id, 9, 0.9)


def test_a_seal_the_events_do_not_reproduce_is_reported(platform: Platform) -> None:
    ledger = platform.ledger
    cycle_id = close_a_quarter(platform)
    truth = ledger.snapshot(EXEC, cycle_id)
    assert truth.through is not None
    # A seal written around the command, with a digest the events do not give.
    cycle = ledger.load(Cycle, cycle_id)
    through = (truth.through.originator_id, truth.through.originator_version)
    cycle.seal(truth.position, "0" * 64, SNAPSHOT_FORMAT, through, ledger.stamp(EXEC))
    ledger.record(cycle)
    check = ledger.verify_seal(EXEC, cycle_id)
    assert not check.matches
    assert (check.sealed_digest, check.recomputed_digest) == ("0" * 64, truth.digest)


# ---- the same history on both backends ------------------------------------------------


def _stored_events(platform: Platform) -> list[StoredEvent]:
    """Every stored event of a store, in notification order, as stored."""
    events: list[StoredEvent] = []
    start = 0
    while page := platform.ledger.recorder.select_notifications(
        start, 500, inclusive_of_start=False
    ):
        events += [
            StoredEvent(UUID(str(n.originator_id)), n.originator_version, n.topic, n.state)
            for n in page
        ]
        start = page[-1].id
    return events


def _burn_a_position(pg_env: dict[str, str], events_table: str) -> None:
    """A transaction that inserts an event and rolls back: PostgreSQL's sequence keeps the
    id it handed out, so the next event lands one position further than on SQLite."""
    table = sql.Identifier(pg_env["schema"], events_table)
    with psycopg.connect(pg_env["url"]) as conn:
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (originator_id, originator_version, topic, state) "
                "VALUES (gen_random_uuid(), 1, 'rolled:Back', '')"
            ).format(table)
        )
        conn.rollback()


@pytest.mark.postgres
def test_the_same_history_gives_the_same_digest_on_sqlite_and_postgresql(
    tmp_path: Path, pg_env: dict[str, str]
) -> None:
    on_sqlite = build(
        Settings(
            data_dir=tmp_path / "sqlite",
            secret_key="test-secret-of-enough-length-for-hs256",
            log_level="WARNING",
        )
    )
    try:
        cycle_id = close_a_quarter(on_sqlite)
        on_sqlite.ledger.seal_cycle(EXEC, cycle_id)
        sealed = on_sqlite.ledger.verify_seal(EXEC, cycle_id)
        history = _stored_events(on_sqlite)
        at_end = on_sqlite.ledger.snapshot(EXEC, cycle_id)
    finally:
        on_sqlite.close()

    pg_settings = Settings(
        database_url=pg_env["url"],
        database_schema=pg_env["schema"],
        data_dir=tmp_path / "pg",
        secret_key="test-secret-of-enough-length-for-hs256",
        log_level="WARNING",
    )
    copier = Ledger(env=eventsourcing_env(pg_settings))  # creates the tables, seeds nothing
    try:
        _burn_a_position(pg_env, copier.recorder.events_table_name)
        copier.recorder.insert_events(history)
    finally:
        copier.close()

    on_postgres = build(pg_settings)  # finds the copied policy registry: records nothing
    try:
        assert _stored_events(on_postgres) == history  # byte for byte, in the same order
        assert last_position(on_postgres) == at_end.position + 1

        check = on_postgres.ledger.verify_seal(EXEC, cycle_id)
        assert check.matches and check.recomputed_digest == sealed.sealed_digest
        assert (check.sealed_position, check.position) == (sealed.position, sealed.position + 1)
        same = on_postgres.ledger.snapshot(EXEC, cycle_id, sealed.position + 1)
        original = _snapshot_on_sqlite(tmp_path, cycle_id, sealed.position)
        assert same.canonical == original.canonical and same.digest == sealed.sealed_digest

        now = on_postgres.ledger.snapshot(EXEC, cycle_id)
        assert (now.canonical, now.digest) == (at_end.canonical, at_end.digest)
        assert now.position != at_end.position  # beside the digest, never inside it

        on_postgres.rebuild()
        assert on_postgres.ledger.verify_seal(EXEC, cycle_id).matches
        assert on_postgres.ledger.snapshot(EXEC, cycle_id).digest == at_end.digest
    finally:
        on_postgres.close()


def _snapshot_on_sqlite(tmp_path: Path, cycle_id: UUID, position: int) -> Any:
    platform = build(
        Settings(
            data_dir=tmp_path / "sqlite",
            secret_key="test-secret-of-enough-length-for-hs256",
            log_level="WARNING",
        )
    )
    try:
        return platform.ledger.snapshot(EXEC, cycle_id, position)
    finally:
        platform.close()
