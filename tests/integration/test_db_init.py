"""``okrgov db init`` on a real PostgreSQL server: it takes over no role it did not create,
keeps the passwords of its own roles on a re-run, escapes passwords in the URL it prints,
validates names, says what the application role may do before PostgreSQL 17, and runs
safely as several processes at once.

Roles are cluster-wide: every test names its own (``r<hex>_...``) and drops them after."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from kafka_broker import wait_until
from postgres_server import EmbeddedPostgresError, embedded_postgres
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from typer.testing import CliRunner, Result

from infra.config import Settings
from infra.persistence import eventsourcing_env
from infra.stored_events import APPEND_ONLY_TRIGGER
from services.application.ledger import Ledger
from services.cli.db import CREATED_MARK, KEPT_PASSWORD
from services.cli.main import app as cli

pytestmark = pytest.mark.postgres

OKRGOV = str(Path(sys.executable).parent / "okrgov")
NASTY = "p@ss:w/o%rd #1?x y&z=+"


class Cluster:
    """The test database, one schema of its own, and the roles a test made."""

    def __init__(self, url: str, schema: str) -> None:
        self.url, self.schema = url, schema
        self.prefix = f"r{uuid.uuid4().hex[:10]}"

    def role(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, ["db", "init", *args], env=env)

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        with psycopg.connect(self.url, autocommit=True) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else None

    def password_matches(self, role: str, password: str) -> bool:
        """Whether ``password`` is ``role``'s password: checked against the server's own
        SCRAM verifier (the test server trusts loopback clients, so a login would not tell)."""
        rows = self.sql("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,))
        stored = rows[0][0]
        found = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", stored or "")
        assert found, f"{role} has no SCRAM verifier: {stored!r}"
        iterations, salt, stored_key = int(found[1]), base64.b64decode(found[2]), found[3]
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        return base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored_key

    def comment(self, role: str) -> str | None:
        rows = self.sql(
            "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s",
            (role,),
        )
        return rows[0][0] if rows else None

    def exists(self, role: str) -> bool:
        return bool(self.sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)))

    def drop_roles(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '30s'")
            pattern = self.prefix.replace("_", r"\_") + r"\_%"
            rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (pattern,))
            for (role,) in rows.fetchall():
                conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
def cluster(
    pg_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cluster]:
    for name in ("OKRGOV_DB_OWNER_PASSWORD", "OKRGOV_DB_APP_PASSWORD", "OKRGOV_DB_ADMIN_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OKRGOV_DATABASE_URL", pg_env["url"])
    monkeypatch.setenv("OKRGOV_DATABASE_SCHEMA", pg_env["schema"])
    monkeypatch.setenv("OKRGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OKRGOV_LOG_LEVEL", "WARNING")
    found = Cluster(pg_env["url"], pg_env["schema"])
    try:
        yield found
    finally:
        found.drop_roles()


def printed_url(result: Result) -> str:
    found = re.search(r"OKRGOV_DATABASE_URL=(\S+)", result.stdout)
    assert found, result.output
    return found[1]


def roles(c: Cluster) -> list[str]:
    return ["--owner", c.role("own"), "--app-role", c.role("app")]


def test_a_password_with_url_characters_survives_the_printed_url(cluster: Cluster) -> None:
    owner, app = cluster.role("own"), cluster.role("app")
    result = cluster.run(*roles(cluster), "--app-password", NASTY, "--owner-password", NASTY)
    assert result.exit_code == 0, result.output
    url = printed_url(result)
    assert NASTY not in url  # escaped, not pasted
    # libpq reads exactly the password back out of the URL, and it is the role's.
    params = conninfo_to_dict(url)
    assert (params["user"], params["password"]) == (app, NASTY)
    assert cluster.password_matches(app, NASTY)
    assert cluster.password_matches(owner, NASTY)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (app,)
    # okrgov itself connects with the printed URL and records events as the app role.
    settings = Settings(database_url=url, database_schema=cluster.schema, create_tables=False)
    env = eventsourcing_env(settings)
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == (app, NASTY)
    ledger = Ledger(env=env)
    try:
        ledger.seed_policy()
    finally:
        ledger.close()
    rows = cluster.sql(f'SELECT count(*) FROM "{cluster.schema}".okrgov_events')
    assert rows[0][0] > 0


@pytest.fixture(scope="module")
def password_server() -> Iterator[str]:
    """A PostgreSQL server of its own that checks passwords (the shared test server trusts
    loopback clients)."""
    try:
        with embedded_postgres(password_auth=True) as url:
            yield url
    except EmbeddedPostgresError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"embedded PostgreSQL is required in CI: {exc}", pytrace=False)
        pytest.skip(f"embedded PostgreSQL unavailable: {exc}")


def test_the_printed_url_logs_in_where_passwords_are_checked(
    password_server: str, tmp_path: Path
) -> None:
    app = "okrgov_app"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKRGOV_")}
    env |= {"OKRGOV_DB_ADMIN_URL": password_server, "OKRGOV_DATABASE_SCHEMA": "okrgov"}
    env |= {"OKRGOV_DATA_DIR": str(tmp_path), "OKRGOV_LOG_LEVEL": "WARNING"}
    args = [OKRGOV, "db", "init", "--app-password", NASTY, "--owner-password", NASTY + "!"]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    url = re.search(r"OKRGOV_DATABASE_URL=(\S+)", done.stdout)
    assert url, done.stdout
    with psycopg.connect(url[1]) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (app,)
    wrong = url[1].replace(quote(NASTY, safe=""), quote(NASTY[:-1], safe=""))
    assert wrong != url[1]
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong).close()
    # okrgov, given the printed URL, records events as the application role.
    settings = Settings(database_url=url[1], database_schema="okrgov", create_tables=False)
    ledger = Ledger(env=eventsourcing_env(settings))
    try:
        ledger.seed_policy()
    finally:
        ledger.close()
    with psycopg.connect(password_server) as conn:
        row = conn.execute("SELECT count(*) FROM okrgov.okrgov_events").fetchone()
        assert row is not None and row[0] > 0


def test_a_role_it_did_not_create_keeps_its_password_unless_told(cluster: Cluster) -> None:
    owner, app = cluster.role("own"), cluster.role("app")
    cluster.sql(f"CREATE ROLE {app} LOGIN PASSWORD 'dba-chose-this'")

    refused = cluster.run(*roles(cluster), "--app-password", "mine")
    assert refused.exit_code == 2
    assert app in refused.output and "--reset-passwords" in refused.output
    assert "not created by okrgov db init" in refused.output
    assert cluster.password_matches(app, "dba-chose-this")
    assert not cluster.exists(owner)  # refused before creating anything
    # Not even a generated password: the role is refused as it is.
    assert cluster.run(*roles(cluster)).exit_code == 2
    assert cluster.password_matches(app, "dba-chose-this")

    taken = cluster.run(*roles(cluster), "--app-password", "mine", "--reset-passwords")
    assert taken.exit_code == 0, taken.output
    assert cluster.password_matches(app, "mine")
    assert f"role {app}: exists, taken over (--reset-passwords); password set" in taken.stdout
    assert cluster.comment(app) is None  # still not one db init created
    assert cluster.comment(owner) == CREATED_MARK


def test_a_re_run_keeps_the_passwords_of_its_own_roles(cluster: Cluster) -> None:
    app = cluster.role("app")
    first = cluster.run(*roles(cluster))
    assert first.exit_code == 0, first.output
    generated = conninfo_to_dict(printed_url(first))["password"]
    assert cluster.password_matches(app, generated)

    again = cluster.run(*roles(cluster))
    assert again.exit_code == 0, again.output
    assert cluster.password_matches(app, generated)
    assert f"role {app}: exists (created by db init); password kept" in again.stdout
    assert f"{app}:{KEPT_PASSWORD}@" in printed_url(again)
    assert "generated passwords" not in again.stdout

    given = cluster.run(*roles(cluster), "--app-password", "chosen")
    assert given.exit_code == 0, given.output
    assert cluster.password_matches(app, "chosen")
    assert f"role {app}: exists (created by db init); password set" in given.stdout


def test_a_refusal_part_way_leaves_the_database_as_it_was(cluster: Cluster) -> None:
    """An events table someone else owns is found only after the roles were made: the
    whole set-up is one transaction, so they are gone again."""
    owner, app = cluster.role("own"), cluster.role("app")
    cluster.sql(f'CREATE TABLE "{cluster.schema}".okrgov_events (x int)')
    result = cluster.run(*roles(cluster), "--app-password", "a")
    assert result.exit_code == 2
    assert "okrgov_events" in result.output and f"not by {owner}" in result.output
    assert not cluster.exists(owner) and not cluster.exists(app)


def test_a_superuser_is_never_taken(cluster: Cluster) -> None:
    boss = cluster.role("boss")
    cluster.sql(f"CREATE ROLE {boss} SUPERUSER LOGIN PASSWORD 'boss'")
    result = cluster.run("--owner", cluster.role("own"), "--app-role", boss, "--reset-passwords")
    assert result.exit_code == 2
    assert f"role {boss} is a superuser" in result.output
    assert cluster.password_matches(boss, "boss")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--owner", "Okr-Owner"], "--owner"),
        (["--app-role", "app; DROP ROLE postgres"], "--app-role"),
        (["--app-role", "pg_monitor"], "--app-role"),
        (["--owner", "public"], "--owner"),
        (["--app-role", "x" * 64], "--app-role"),
        (["--read-models-schema", "Read Models"], "--read-models-schema"),
    ],
)
def test_a_bad_name_is_refused_naming_the_option(
    cluster: Cluster, args: list[str], option: str
) -> None:
    result = cluster.run(*args)
    assert result.exit_code == 2
    assert option in result.output
    assert not cluster.sql("SELECT 1 FROM pg_roles WHERE rolname LIKE 'okr-%%'")


def test_the_same_role_for_owner_and_app_is_refused(cluster: Cluster) -> None:
    both = cluster.role("both")
    result = cluster.run("--owner", both, "--app-role", both)
    assert result.exit_code == 2
    assert "two different roles" in result.output
    assert not cluster.exists(both)


def test_it_says_what_the_app_role_may_do_on_this_server(cluster: Cluster) -> None:
    app = cluster.role("app")
    result = cluster.run(*roles(cluster), "--app-password", "a")
    assert result.exit_code == 0, result.output
    version = cluster.sql("SHOW server_version_num")[0][0]
    privileges = cluster.sql(
        "SELECT privilege_type FROM information_schema.role_table_grants "
        "WHERE grantee = %s AND table_name = 'okrgov_events'",
        (app,),
    )
    granted = {p for (p,) in privileges}
    if int(version) < 170000:
        assert granted == {"SELECT", "INSERT", "UPDATE"}
        warning = result.stdout.split("WARNING: ", 1)[1]
        assert f"{app} holds UPDATE" in warning
        assert "LOCK TABLE ... IN EXCLUSIVE MODE" in warning
        assert f"Only the trigger {APPEND_ONLY_TRIGGER} stops {app} updating events" in warning
    else:
        assert "UPDATE" not in granted and "WARNING" not in result.stdout
        assert "MAINTAIN" in result.stdout


def test_the_read_models_schema_belongs_to_the_app_role(cluster: Cluster) -> None:
    app = cluster.role("app")
    schema = cluster.role("views")
    try:
        result = cluster.run(*roles(cluster), "--read-models-schema", schema)
        assert result.exit_code == 0, result.output
        owner = cluster.sql(
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s", (schema,)
        )
        assert owner == [(app,)]
        with psycopg.connect(cluster.url) as conn:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(app)))
            conn.execute(sql.SQL("CREATE TABLE {}.t (x int)").format(sql.Identifier(schema)))
    finally:
        cluster.sql(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def test_set_ups_started_together_take_turns(cluster: Cluster) -> None:
    """Three ``okrgov db init`` processes on a fresh schema, held at the set-up lock and
    then let go together: roles, type, table, triggers and grants are made once, and
    every process succeeds."""
    owner, app = cluster.role("own"), cluster.role("app")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKRGOV_DB_")}
    args = [OKRGOV, "db", "init", *roles(cluster), "--app-password", NASTY]
    with psycopg.connect(cluster.url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(hashtext('okrgov-db-init'))")
        processes = [
            subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(3)
        ]
        try:
            waiting = (
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND objid::bigint = hashtext('okrgov-db-init')::bigint & 4294967295 "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            assert wait_until(lambda: cluster.sql(waiting)[0][0] == 3, timeout=60)
            assert not cluster.exists(app) and not cluster.exists(owner)
        finally:
            holder.execute("SELECT pg_advisory_unlock(hashtext('okrgov-db-init'))")
        outputs = [p.communicate(timeout=120)[0].decode() for p in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
    created = [o for o in outputs if f"role {app}: created" in o]
    assert len(created) == 1, outputs
    assert cluster.comment(owner) == cluster.comment(app) == CREATED_MARK
    table = f'"{cluster.schema}"."okrgov_events"'
    triggers = cluster.sql(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal",
        (table,),
    )
    assert APPEND_ONLY_TRIGGER in {t for (t,) in triggers}
    assert cluster.sql(
        "SELECT tableowner FROM pg_tables WHERE schemaname = %s AND tablename = 'okrgov_events'",
        (cluster.schema,),
    ) == [(owner,)]
    assert cluster.password_matches(app, NASTY)
