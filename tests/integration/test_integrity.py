"""Tamper evidence on both backends: rows altered, deleted and reordered directly in the
database (past the append-only triggers, as an intruder with database access would), the
leaf log edited, checkpoints forged; each is named with its position and reason. And the
append-only guarantees themselves: the triggers, and on PostgreSQL the roles of db init."""

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from quarter import EXEC, TOM, plan_quarter
from typer.testing import CliRunner

from events.checkpoint import Checkpoint, signed_message
from events.provenance import Stamp
from infra.config import Settings
from infra.merkle import leaf_hash
from infra.signing import load_or_create_signer
from infra.stored_events import StoredEvents
from services.api import create_app
from services.application.evidence.verification import Integrity, SignedCheckpoint
from services.bootstrap import Platform, build
from services.cli.db import _with_user
from services.cli.main import app as cli

CHECKED_IN = "KeyResult.CheckedIn"


class RawStore:
    """Direct SQL on the database under a platform, past its append-only triggers."""

    def __init__(self, settings: Settings, platform: Platform) -> None:
        self.settings = settings
        self.events = StoredEvents(platform.ledger.recorder)
        self.postgres = settings.database_url is not None
        if self.postgres:
            schema = settings.database_schema
            self.names = {
                "events": self.events.table,
                "pos": "notification_id",
                "leaves": f'"{schema}".integrity_leaves',
            }
        else:
            self.names = {"events": "stored_events", "pos": "rowid", "leaves": "integrity_leaves"}

    def _sql(self, sql: str) -> str:
        sql = sql.format(**self.names)
        return sql.replace("?", "%s") if self.postgres else sql

    def execute(self, *statements: tuple[str, tuple[Any, ...]]) -> None:
        """Run statements in one transaction with the append-only triggers out of the way
        (a PostgreSQL superuser's replica mode; dropping them on SQLite)."""
        if self.postgres:
            assert self.settings.database_url
            with psycopg.connect(self.settings.database_url) as conn:
                conn.execute("SET session_replication_role = replica")
                for sql, params in statements:
                    conn.execute(self._sql(sql), params)
            return
        conn = sqlite3.connect(self.settings.data_dir / "okrgov.sqlite")
        try:
            conn.execute("DROP TRIGGER IF EXISTS stored_events_refuse_update")
            conn.execute("DROP TRIGGER IF EXISTS stored_events_refuse_delete")
            for sql, params in statements:
                conn.execute(self._sql(sql), params)
            conn.commit()
        finally:
            conn.close()

    def state(self, position: int) -> bytes:
        row = self.events.at(position)
        assert row is not None and row.state is not None
        return row.state


@dataclass
class History:
    """A quarter with two signed checkpoints and a tail of events after the second."""

    platform: Platform
    integrity: Integrity
    raw: RawStore
    check_ins: list[int]
    first: SignedCheckpoint
    second: SignedCheckpoint

    def covered_by_first(self) -> list[int]:
        return [p for p in self.check_ins if p <= self.first.last_position]

    def between(self) -> list[int]:
        return [
            p for p in self.check_ins if self.first.last_position < p <= self.second.last_position
        ]

    def tail(self) -> list[int]:
        return [p for p in self.check_ins if p > self.second.last_position]


@pytest.fixture
def history(platform: Platform, settings: Settings) -> History:
    integrity = platform.evidence.signing()  # the store's first key: this process's
    _, _, key_result = plan_quarter(platform)
    week = iter(range(1, 20))

    def check_ins(n: int) -> None:
        for _ in range(n):
            w = next(week)
            platform.ledger.check_in(TOM, key_result.id, 15 - w * 0.5, 0.6, f"week {w}")

    def checkpoint() -> SignedCheckpoint:
        integrity.follower.catch_up()
        signed = integrity.record_checkpoint("test")
        assert signed is not None
        return signed

    check_ins(3)
    first = checkpoint()
    check_ins(3)
    second = checkpoint()
    check_ins(2)
    integrity.follower.catch_up()  # as the running follower does within moments
    rows = StoredEvents(platform.ledger.recorder).rows()
    positions = [r.position for r in rows if (r.topic or "").endswith(CHECKED_IN)]
    assert len(positions) == 8
    return History(platform, integrity, RawStore(settings, platform), positions, first, second)


def problem_of(history: History) -> tuple[int, str]:
    report = history.integrity.verify()
    assert not report.intact and report.problem is not None, report
    assert report.checked_up_to < report.problem.position
    return report.problem.position, report.problem.reason


def last_position(platform: Platform) -> int:
    return int(platform.ledger.recorder.max_notification_id() or 0)


# ---- intact ------------------------------------------------------------------------------


def test_an_untouched_store_is_intact_up_to_its_last_position(history: History) -> None:
    report = history.integrity.verify()
    assert report.intact, report.summary()
    assert report.checked_up_to == last_position(history.platform)
    assert report.events_checked == len(list(history.integrity.events.rows()))
    assert report.checkpoints_verified == 2
    assert report.latest_checkpoint == history.second
    assert report.summary().startswith(f"intact up to position {report.checked_up_to}")


def test_gaps_the_log_saw_are_not_tampering_but_a_row_slipped_into_one_is(
    platform: Platform, settings: Settings
) -> None:
    plan_quarter(platform)
    last = last_position(platform)
    raw = RawStore(settings, platform)
    # Before the leaf log passes it, the last event sits five ids further on, as after
    # rolled-back inserts on PostgreSQL: notification ids may skip.
    raw.execute(("UPDATE {events} SET {pos} = ? WHERE {pos} = ?", (last + 5, last)))
    report = platform.evidence.verifier().verify()
    assert report.intact, report.summary()
    assert report.checked_up_to == last + 5
    assert report.events_checked == len(list(raw.events.rows()))

    # Once the log has passed the gap, a row appearing in it was not there to be seen.
    raw.execute(
        (
            "INSERT INTO {events} ({pos}, originator_id, originator_version, topic, state) "
            "SELECT ?, originator_id, 99, topic, state FROM {events} WHERE {pos} = ?",
            (last + 2, last - 1),
        )
    )
    report = platform.evidence.verifier().verify()
    assert report.problem is not None
    assert (report.problem.position, report.problem.reason) == (last + 2, "inserted")


# ---- rows altered, deleted, reordered, inserted --------------------------------------------


def test_a_changed_row_is_named_by_position(history: History) -> None:
    target = history.covered_by_first()[1]
    state = history.raw.state(target)
    forged = state.replace(b"0.6", b"0.9", 1)
    assert forged != state
    history.raw.execute(("UPDATE {events} SET state = ? WHERE {pos} = ?", (forged, target)))
    assert problem_of(history) == (target, "changed")
    # The proof of inclusion under the signed checkpoint fails for it, and only for it.
    assert not history.integrity.prove(target).included
    assert history.integrity.prove(history.covered_by_first()[0]).included


def test_a_change_after_the_last_checkpoint_is_still_caught_by_the_leaf_log(
    history: History,
) -> None:
    target = history.tail()[0]
    history.raw.execute(("UPDATE {events} SET topic = topic || 'x' WHERE {pos} = ?", (target,)))
    assert problem_of(history) == (target, "changed")


def test_a_deleted_row_is_named_missing(history: History) -> None:
    target = history.between()[0]
    history.raw.execute(("DELETE FROM {events} WHERE {pos} = ?", (target,)))
    assert problem_of(history) == (target, "missing")


def test_swapped_rows_are_named_reordered_at_the_first_of_them(history: History) -> None:
    first, second = history.covered_by_first()[0], history.between()[1]
    history.raw.execute(
        ("UPDATE {events} SET {pos} = ? WHERE {pos} = ?", (-1, first)),
        ("UPDATE {events} SET {pos} = ? WHERE {pos} = ?", (first, second)),
        ("UPDATE {events} SET {pos} = ? WHERE {pos} = ?", (second, -1)),
    )
    assert problem_of(history) == (first, "reordered")


def test_a_row_moved_to_the_end_is_named_reordered_where_it_was(history: History) -> None:
    target = history.between()[0]
    end = last_position(history.platform) + 1
    history.raw.execute(("UPDATE {events} SET {pos} = ? WHERE {pos} = ?", (end, target)))
    assert problem_of(history) == (target, "reordered")


# ---- the leaf log and the checkpoints ----------------------------------------------------


def test_an_edited_leaf_is_told_apart_from_a_changed_row(history: History) -> None:
    target = history.covered_by_first()[2]
    history.raw.execute(("UPDATE {leaves} SET leaf = ? WHERE position = ?", (bytes(32), target)))
    assert problem_of(history) == (target, "leaf_log_altered")


def test_a_row_rewritten_with_its_leaf_breaks_the_signed_root_of_its_range(
    history: History,
) -> None:
    target = history.between()[1]
    row = history.integrity.events.at(target)
    assert row is not None and row.state is not None
    forged = row._replace(state=row.state.replace(b"0.6", b"0.1", 1))
    assert forged.state != row.state
    history.raw.execute(
        ("UPDATE {events} SET state = ? WHERE {pos} = ?", (forged.state, target)),
        ("UPDATE {leaves} SET leaf = ? WHERE position = ?", (leaf_hash(forged.leaf()), target)),
    )
    # Rows and leaves agree; only the second checkpoint's signed root disagrees, so the
    # report names the start of its range, after everything the first one vouches for.
    assert problem_of(history) == (history.first.last_position + 1, "checkpoint_mismatch")


def test_a_checkpoint_signed_with_an_unknown_key_is_reported_apart_from_the_rows(
    history: History, settings: Settings
) -> None:
    # A process that signs without asking the store which key it signs with (as every
    # process did before keys were recorded): a key of its own.
    intruder = load_or_create_signer(None, settings.data_dir / "intruder")
    forged = Integrity(history.platform.ledger, history.integrity.follower, intruder)
    signed = forged.record_checkpoint("forged")
    assert signed is not None
    report = history.integrity.verify()
    # The rows are judged by the checkpoints that verify, and are intact.
    assert report.rows_intact and report.problem is None, report.summary()
    assert report.checked_up_to == last_position(history.platform)
    assert report.checkpoints_verified == 2
    assert report.latest_checkpoint == history.second
    assert (report.status, report.exit_code) == ("rogue_checkpoints", 3)
    [rogue] = report.rogue_checkpoints
    assert (rogue.position, rogue.status) == (signed.position, "unknown_key")
    assert rogue.fingerprint == intruder.fingerprint
    assert intruder.fingerprint in rogue.message and "a key of its own" in rogue.message
    assert report.summary().startswith(f"rows intact up to position {report.checked_up_to}")

    # It does not hide what happens to the rows either: a deleted row is still named.
    target = history.between()[0]
    history.raw.execute(("DELETE FROM {events} WHERE {pos} = ?", (target,)))
    report = history.integrity.verify()
    assert report.problem is not None
    assert (report.problem.position, report.problem.reason) == (target, "missing")
    assert (report.status, report.exit_code) == ("tampered", 1)
    assert [c.position for c in report.rogue_checkpoints] == [signed.position]


def test_a_checkpoint_naming_the_store_key_with_a_foreign_signature_is_a_bad_signature(
    history: History, settings: Settings
) -> None:
    intruder = load_or_create_signer(None, settings.data_dir / "intruder")
    head = history.integrity.leaf_log.head()
    signed_at = "2026-12-31T00:00:00+00:00"
    message = signed_message(head.size, head.last_position, head.root.hex(), signed_at)
    store_key = history.integrity.signer
    assert store_key is not None
    forged = Checkpoint.sign(
        tree_size=head.size,
        last_position=head.last_position,
        root_hash=head.root.hex(),
        signed_at=signed_at,
        key_id=store_key.key_id,
        public_key=store_key.public_key_b64,
        signature=intruder.sign(message).hex(),
        stamp=Stamp("intruder", "c-1"),
        reason="forged",
    )
    recorded = history.platform.ledger.record(forged)
    report = history.integrity.verify()
    assert report.rows_intact and report.status == "rogue_checkpoints"
    [rogue] = report.rogue_checkpoints
    assert (rogue.position, rogue.status) == (recorded.position, "bad_signature")
    assert store_key.fingerprint in rogue.message


def test_a_checkpoint_without_a_signature_is_named_unsigned(history: History) -> None:
    head = history.integrity.leaf_log.head()
    signer = history.integrity.signer
    assert signer is not None
    unsigned = Checkpoint.sign(
        tree_size=head.size,
        last_position=head.last_position,
        root_hash=head.root.hex(),
        signed_at="2026-12-31T00:00:00+00:00",
        key_id=signer.key_id,
        public_key=signer.public_key_b64,
        signature="",
        stamp=Stamp("intruder", "c-1"),
        reason="forged",
    )
    recorded = history.platform.ledger.record(unsigned)
    report = history.integrity.verify()
    assert report.rows_intact and report.status == "rogue_checkpoints"
    assert [(c.position, c.status) for c in report.rogue_checkpoints] == [
        (recorded.position, "unsigned")
    ]


def test_a_checkpoint_whose_stored_signature_was_altered_does_not_verify(
    history: History,
) -> None:
    cp = history.second
    state = history.raw.state(cp.position)
    forged = state.replace(cp.root_hash.encode(), ("0" * 64).encode())
    assert forged != state
    history.raw.execute(("UPDATE {events} SET state = ? WHERE {pos} = ?", (forged, cp.position)))
    # Its signature no longer verifies, and its row is not what the leaf log saw.
    assert [c.status for c in history.integrity.checkpoints()] == ["valid", "bad_signature"]
    assert problem_of(history) == (cp.position, "changed")


def test_a_running_platform_signs_a_checkpoint_every_n_events(settings: Settings) -> None:
    platform = build(settings.model_copy(update={"checkpoint_every": 5}))
    try:
        integrity = platform.evidence.signing()
        plan_quarter(platform)
        # A one-off catch-up (as verify does) writes nothing to the store.
        assert integrity.verify().intact
        assert integrity.checkpoints() == []

        platform.start()
        platform.ledger.check_in(TOM, plan_quarter(platform)[2].id, 14, 0.6, "week 1")
        platform.wrote("tom", last_position(platform))  # the leaf log signs on its next poll
        deadline = time.monotonic() + 10
        while not integrity.checkpoints() and time.monotonic() < deadline:
            time.sleep(0.01)
        for follower in platform.followers.values():
            follower.stop()  # nothing signs behind the test's back from here on
        signed = integrity.checkpoints()
        assert signed, "no periodic checkpoint"
        assert all(c.signature_valid and c.tree_size >= 5 for c in signed)
        # Another process crossing the same boundary does not sign it a second time.
        slot = signed[-1].tree_size // 5
        integrity.periodic_checkpoint(slot)
        assert len(integrity.checkpoints()) == len(signed)
        assert integrity.verify().intact
    finally:
        platform.close()


# ---- inclusion proofs --------------------------------------------------------------------


def test_an_inclusion_proof_verifies_under_the_latest_checkpoint(history: History) -> None:
    target = history.between()[0]
    proof = history.integrity.prove(target)
    assert proof.included
    assert proof.checkpoint == history.second
    assert proof.tree_size == history.second.tree_size
    assert proof.leaf_hash == proof.recorded_leaf_hash
    assert 0 <= proof.leaf_index < proof.tree_size
    assert len(proof.audit_path) >= 1


def test_an_edited_leaf_does_not_prove_a_changed_row(history: History) -> None:
    # Rewriting the logged leaf to match a forged row does not make the row provable:
    # the audit path leads to a root the signed checkpoint does not have.
    target = history.covered_by_first()[0]
    row = history.integrity.events.at(target)
    assert row is not None and row.state is not None
    forged = row._replace(state=row.state + b" ")
    history.raw.execute(
        ("UPDATE {events} SET state = ? WHERE {pos} = ?", (forged.state, target)),
        ("UPDATE {leaves} SET leaf = ? WHERE position = ?", (leaf_hash(forged.leaf()), target)),
    )
    assert not history.integrity.prove(target).included


# ---- the CLI and the API -----------------------------------------------------------------


def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKRGOV_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("OKRGOV_SECRET_KEY", "cli-test-secret-of-enough-length-for-hs256!")
    monkeypatch.setenv("OKRGOV_LOG_LEVEL", "WARNING")
    if settings.database_url:
        monkeypatch.setenv("OKRGOV_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("OKRGOV_DATABASE_SCHEMA", settings.database_schema or "")


def test_the_cli_verifies_checkpoints_and_proves(
    history: History, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_env(settings, monkeypatch)
    runner = CliRunner()
    signed = runner.invoke(cli, ["checkpoint"])
    assert signed.exit_code == 0, signed.output
    assert "checkpoint recorded at position" in signed.stdout
    intact = runner.invoke(cli, ["verify"])
    assert intact.exit_code == 0, intact.output
    assert intact.stdout.startswith("intact up to position")
    target = history.tail()[0]
    proved = runner.invoke(cli, ["verify", "--prove", str(target)])
    assert proved.exit_code == 0, proved.output
    assert '"included": true' in proved.stdout
    consistent = runner.invoke(cli, ["verify", "--consistency", str(history.first.tree_size)])
    assert consistent.exit_code == 0, consistent.output
    assert '"consistent": true' in consistent.stdout
    assert f'"old_root_hash": "{history.first.root_hash}"' in consistent.stdout
    too_big = runner.invoke(cli, ["verify", "--consistency", str(10**9)])
    assert too_big.exit_code == 2

    history.raw.execute(("DELETE FROM {events} WHERE {pos} = ?", (target,)))
    broken = runner.invoke(cli, ["verify"])
    assert broken.exit_code == 1
    assert f"NOT INTACT at position {target}: missing" in broken.stdout
    unproved = runner.invoke(cli, ["verify", "--prove", str(target)])
    assert unproved.exit_code == 1
    nowhere = runner.invoke(cli, ["verify", "--prove", str(10**9)])
    assert nowhere.exit_code == 2


def test_the_integrity_route_reports_and_is_read_by_overseers(history: History) -> None:
    tokens = history.platform.tokens
    client = TestClient(create_app(history.platform))

    def get(path: str, *roles: str) -> Any:
        headers = {"Authorization": f"Bearer {tokens.create('someone', list(roles))}"}
        return client.get(path, headers=headers)

    for role in ("compliance", "executive", "risk_officer"):
        answer = get("/v1/integrity", role)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "intact"
        assert body["summary"].startswith(f"intact up to position {body['checked_up_to']}")
        assert body["checkpoints_verified"] == 2
        assert body["problem"] is None
        assert body["checkpoints"] is None
    listed = get("/v1/integrity?checkpoints=true", "compliance").json()["checkpoints"]
    assert [c["position"] for c in listed] == [history.first.position, history.second.position]
    assert get("/v1/integrity?checkpoints=perhaps", "compliance").status_code == 422
    assert get("/v1/integrity", "member").status_code == 403
    assert get("/v1/integrity", "admin").status_code == 403

    target = history.between()[0]
    proof = get(f"/v1/integrity/proof/{target}", "compliance")
    assert proof.status_code == 200 and proof.json()["included"] is True
    assert get("/v1/integrity/proof/0", "compliance").status_code == 422
    assert get(f"/v1/integrity/proof/{10**9}", "compliance").status_code == 404

    history.raw.execute(("DELETE FROM {events} WHERE {pos} = ?", (target,)))
    body = get("/v1/integrity", "compliance").json()
    assert body["status"] == "tampered"
    assert body["problem"]["position"] == target
    assert body["problem"]["reason"] == "missing"


# ---- append-only at the database ---------------------------------------------------------


def test_the_event_table_refuses_update_and_delete(platform: Platform, settings: Settings) -> None:
    plan_quarter(platform)
    position = last_position(platform)
    raw = RawStore(settings, platform)
    statements = (
        ("UPDATE {events} SET topic = 'x' WHERE {pos} = ?", (position,)),
        ("DELETE FROM {events} WHERE {pos} = ?", (position,)),
    )
    for sql, params in statements:
        if raw.postgres:
            assert settings.database_url
            # Even a superuser (as the table's owner would) runs into the trigger.
            with (
                psycopg.connect(settings.database_url) as conn,
                pytest.raises(psycopg.errors.RaiseException, match="append-only"),
            ):
                conn.execute(raw._sql(sql), params)
        else:
            conn = sqlite3.connect(settings.data_dir / "okrgov.sqlite")
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(raw._sql(sql), params)
            conn.close()
    assert platform.evidence.verifier().verify().intact


@pytest.mark.postgres
def test_db_init_makes_an_app_role_that_cannot_rewrite_events(
    pg_env: dict[str, str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, schema = pg_env["url"], pg_env["schema"]
    owner, app_role = f"own_{schema}", f"app_{schema}"
    monkeypatch.setenv("OKRGOV_DATABASE_URL", url)
    monkeypatch.setenv("OKRGOV_DATABASE_SCHEMA", schema)
    monkeypatch.setenv("OKRGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OKRGOV_LOG_LEVEL", "WARNING")
    args = ["db", "init", "--owner", owner, "--owner-password", "owner-pw"]
    args += ["--app-role", app_role, "--app-password", "app-pw"]
    try:
        for _ in range(2):  # idempotent
            result = CliRunner().invoke(cli, args)
            assert result.exit_code == 0, result.output
        assert f"OKRGOV_DATABASE_URL=postgresql://{app_role}:app-pw@" in result.stdout

        # okrgov runs as the application role: it records and reads events.
        monkeypatch.setenv("OKRGOV_CREATE_TABLES", "false")
        app_url = _with_user(url, app_role, "app-pw")
        settings = Settings(
            database_url=app_url,
            database_schema=schema,
            data_dir=tmp_path,
            secret_key="test-secret-of-enough-length-for-hs256",
            log_level="WARNING",
        )
        platform = build(settings)
        try:
            cycle, _, _ = plan_quarter(platform)
            platform.ledger.lock_cycle(EXEC, cycle.id)
            assert platform.evidence.verifier().verify().intact
            position = last_position(platform)
        finally:
            platform.close()

        events = StoredEvents(platform.ledger.recorder).table
        refusals = {
            f"UPDATE {events} SET topic = 'x' WHERE notification_id = %s": (position,),
            f"DELETE FROM {events} WHERE notification_id = %s": (position,),
            f"TRUNCATE {events}": (),
        }
        refused = (psycopg.errors.InsufficientPrivilege, psycopg.errors.RaiseException)
        for role, password in ((app_role, "app-pw"), (owner, "owner-pw")):
            for sql, params in refusals.items():
                with psycopg.connect(_with_user(url, role, password)) as conn:
                    with pytest.raises(refused) as caught:
                        conn.execute(sql, params)
                    if role == owner:  # the owner may, but the trigger refuses
                        assert isinstance(caught.value, psycopg.errors.RaiseException)
                    conn.rollback()
                    # Nor can the application role take the trigger away.
                    if role == app_role:
                        with pytest.raises(psycopg.errors.InsufficientPrivilege):
                            conn.execute(f"ALTER TABLE {events} DISABLE TRIGGER ALL")
                        conn.rollback()
        with psycopg.connect(url) as conn:
            count = conn.execute(f"SELECT count(*) FROM {events}").fetchone()
            assert count is not None and count[0] >= position
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            for role in (owner, app_role):
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    conn.execute(f'DROP OWNED BY "{role}" CASCADE')
                    conn.execute(f'DROP ROLE "{role}"')


def test_db_init_is_refused_on_sqlite(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OKRGOV_DATABASE_URL", raising=False)
    monkeypatch.setenv("OKRGOV_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["db", "init"])
    assert result.exit_code == 2
    assert "PostgreSQL" in result.output
