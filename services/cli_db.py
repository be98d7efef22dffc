"""``okrgov db init``: make PostgreSQL hold the events append-only.

Two roles: the owner creates and owns the events table and its append-only triggers; the
application role, which okrgov connects as, may only read and insert events (it owns the
read models it creates itself, which a rebuild drops and refills). The triggers refuse
UPDATE, DELETE and TRUNCATE on the events table for every role, the owner included; only a
superuser (or the owner, by dropping the trigger) can get past them, and the Merkle leaf
log and signed checkpoints then show that it happened."""

import re
import secrets
from typing import Annotated
from urllib.parse import quote, urlparse, urlunparse

import psycopg
import typer
from psycopg import sql

from infra.config import Settings
from infra.persistence import eventsourcing_env, is_postgres
from infra.stored_events import StoredEvents
from services.ledger import Ledger

db_app = typer.Typer(help="Database set-up (PostgreSQL).", no_args_is_help=True)

_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: PostgreSQL 17 added MAINTAIN, which allows LOCK TABLE without any write privilege.
_MAINTAIN_SINCE = 170000
#: The setting that stops okrgov creating its event tables at start-up: the application
#: role must not try (only the owner may index the table).
NO_CREATE_TABLES = "OKRGOV_CREATE_TABLES=false"


def _role_name(value: str) -> str:
    if not _ROLE.fullmatch(value):
        raise typer.BadParameter("a role name is lowercase letters, digits and _")
    return value


def _with_user(url: str, user: str, password: str) -> str:
    parsed = urlparse(url)
    host = parsed.hostname or "127.0.0.1"
    netloc = f"{quote(user)}:{quote(password, safe='')}@{host}"
    if parsed.port:
        netloc += f":{parsed.port}"
    return urlunparse(parsed._replace(netloc=netloc))


@db_app.command("init")
def db_init(
    owner: Annotated[
        str,
        typer.Option(envvar="OKRGOV_DB_OWNER", callback=_role_name, help="Owner role."),
    ] = "okrgov_owner",
    owner_password: Annotated[
        str | None,
        typer.Option(envvar="OKRGOV_DB_OWNER_PASSWORD", help="Generated when not given."),
    ] = None,
    app_role: Annotated[
        str,
        typer.Option(
            "--app-role",
            envvar="OKRGOV_DB_APP_ROLE",
            callback=_role_name,
            help="The role okrgov connects as.",
        ),
    ] = "okrgov_app",
    app_password: Annotated[
        str | None,
        typer.Option(envvar="OKRGOV_DB_APP_PASSWORD", help="Generated when not given."),
    ] = None,
    admin_url: Annotated[
        str | None,
        typer.Option(
            envvar="OKRGOV_DB_ADMIN_URL",
            help="A connection that may create roles (a superuser); OKRGOV_DATABASE_URL "
            "when not given.",
        ),
    ] = None,
) -> None:
    """Create the owner and application roles, the events table owned by the owner with
    its append-only triggers, and the application role's grants (idempotent)."""
    settings = Settings()
    url = admin_url or settings.database_url
    if not url or not is_postgres(settings.model_copy(update={"database_url": url})):
        typer.echo(
            "error: db init sets up PostgreSQL (give --admin-url or OKRGOV_DATABASE_URL); "
            "on SQLite the events table is made append-only by a trigger at start-up",
            err=True,
        )
        raise typer.Exit(2)
    schema = settings.database_schema or "public"
    passwords = {
        owner: owner_password or secrets.token_urlsafe(24),
        app_role: app_password or secrets.token_urlsafe(24),
    }
    with psycopg.connect(url, autocommit=True) as admin:
        for role, password in passwords.items():
            _create_or_update_role(admin, role, password)
        names = {"schema": sql.Identifier(schema), "owner": sql.Identifier(owner)}
        admin.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {owner}").format(**names)
        )
        for role in (owner, app_role):
            admin.execute(
                sql.SQL("GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}").format(
                    schema=names["schema"], role=sql.Identifier(role)
                )
            )
        version = admin.info.server_version

    owner_url = _with_user(url, owner, passwords[owner])
    owner_settings = settings.model_copy(
        update={"database_url": owner_url, "database_schema": schema}
    )
    # Connected as the owner, the recorder creates the events table (whatever this shell's
    # OKRGOV_CREATE_TABLES says: that one is for the application role).
    owner_settings = owner_settings.model_copy(update={"create_tables": True})
    store = Ledger(env=eventsourcing_env(owner_settings))
    try:
        events = StoredEvents(store.recorder)
        events.guard_append_only()
        _grant(owner_url, events, app_role, version)
    finally:
        store.close()

    lock = "MAINTAIN" if version >= _MAINTAIN_SINCE else "UPDATE (refused by the trigger)"
    typer.echo(
        f"events table {events.table}: owned by {owner}; {app_role} may SELECT, INSERT and "
        f"{lock}; UPDATE, DELETE and TRUNCATE are refused by trigger for every role"
    )
    generated = [r for r, given in ((owner, owner_password), (app_role, app_password)) if not given]
    if generated:
        typer.echo(f"generated passwords for {', '.join(generated)}; keep them now:")
        for role in generated:
            typer.echo(f"  {role}: {passwords[role]}")
    typer.echo("run okrgov as the application role, without creating the events table:")
    typer.echo(
        f"  OKRGOV_DATABASE_URL={_with_user(url, app_role, passwords[app_role])} "
        f"OKRGOV_DATABASE_SCHEMA={schema} {NO_CREATE_TABLES}"
    )


def _create_or_update_role(admin: psycopg.Connection, role: str, password: str) -> None:
    exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    admin.execute(
        sql.SQL(verb + " ROLE {role} LOGIN PASSWORD {password}").format(
            role=sql.Identifier(role), password=sql.Literal(password)
        )
    )


def _grant(owner_url: str, events: StoredEvents, app_role: str, version: int) -> None:
    """Read and insert events; the lock the event recorder takes on every insert (LOCK
    TABLE ... IN EXCLUSIVE MODE, to keep notification ids in commit order) needs MAINTAIN
    on PostgreSQL 17+, and UPDATE before that, which the trigger then refuses to use."""
    table = sql.SQL(events.table)
    app = sql.Identifier(app_role)
    lock = sql.SQL("MAINTAIN" if version >= _MAINTAIN_SINCE else "UPDATE")
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("REVOKE ALL ON {table} FROM PUBLIC, {app}").format(table=table, app=app)
        )
        conn.execute(
            sql.SQL("GRANT SELECT, INSERT, {lock} ON {table} TO {app}").format(
                lock=lock, table=table, app=app
            )
        )
        found = conn.execute(
            "SELECT pg_get_serial_sequence(%s, 'notification_id')", (events.table,)
        ).fetchone()
        if found and found[0]:
            conn.execute(
                sql.SQL("GRANT USAGE, SELECT ON SEQUENCE {seq} TO {app}").format(
                    seq=sql.SQL(found[0]), app=app
                )
            )
