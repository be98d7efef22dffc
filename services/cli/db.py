"""``okrgov db init``: make PostgreSQL hold the events append-only.

Two roles: the owner creates and owns the events table and its append-only triggers; the
application role, which okrgov connects as, may only read and insert events (it owns the
read models it creates itself, which a rebuild rewrites). The triggers refuse
UPDATE, DELETE and TRUNCATE on the events table for every role, the owner included; only a
superuser (or the owner, by dropping the trigger) can get past them, and the Merkle leaf
log and signed checkpoints then show that it happened.

The command marks the roles it creates (a comment on the role, cluster-wide like the role
itself) and never touches the password of a role it did not create unless told to
(``--reset-passwords``); it refuses superusers. Everything runs under one advisory lock
and in one transaction, so set-ups started together take turns and a refusal or a failure
part way changes nothing. The owner's objects are made by the set-up connection acting as
the owner (``SET ROLE``), so a re-run needs no password and keeps the ones the roles
have.

Over 300 lines on purpose: one command whose SQL (roles, grants, triggers) must be read as
a whole to see that the events stay append-only."""

import re
import secrets
from contextlib import suppress
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlparse, urlunparse

import psycopg
import typer
from psycopg import sql

from infra.config import Settings
from infra.persistence import is_postgres
from infra.stored_events import APPEND_ONLY_TRIGGER, postgres_append_only_statements
from projections.backends import store_factory
from services.cli.context import configured

db_app = typer.Typer(
    help="Database set-up: make PostgreSQL hold the events append-only.", no_args_is_help=True
)

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: Names PostgreSQL keeps for itself (``pg_`` roles are refused by CREATE ROLE as well).
_RESERVED = frozenset({"public", "none", "current_role", "current_user", "session_user"})
#: PostgreSQL 17 added MAINTAIN, which allows LOCK TABLE without any write privilege.
_MAINTAIN_SINCE = 170000
#: The setting that stops okrgov creating its event tables at start-up: the application
#: role must not try (only the owner may index the table).
NO_CREATE_TABLES = "OKRGOV_CREATE_TABLES=false"
#: The comment ``db init`` puts on a role it created: only such a role's password is
#: changed without ``--reset-passwords``.
CREATED_MARK = "created by okrgov db init"
#: Serialises every ``db init`` on one database (roles, schemas, the events table).
_SET_UP_LOCK = "okrgov-db-init"
#: What the printed URL holds where a role's password was kept (not known to this run).
KEPT_PASSWORD = "PASSWORD"


class SetUpRefused(Exception):
    """db init stops before changing anything it was not asked to."""


def _name(value: str | None, option: str, what: str) -> str | None:
    if value is None:
        return None
    if not _NAME.fullmatch(value):
        raise typer.BadParameter(
            f"{value!r} is not a {what} name: 1-63 of lowercase letters, digits and _, "
            "not starting with a digit",
            param_hint=option,
        )
    if value in _RESERVED or value.startswith("pg_"):
        raise typer.BadParameter(
            f"{value!r} is reserved by PostgreSQL (public, none, current_user, "
            "session_user, current_role, pg_*)",
            param_hint=option,
        )
    return value


def _owner_name(value: str) -> str:
    return _name(value, "--owner", "role") or value


def _app_role_name(value: str) -> str:
    return _name(value, "--app-role", "role") or value


def _read_models_schema(value: str | None) -> str | None:
    return _name(value, "--read-models-schema", "schema")


def _with_user(url: str, user: str, password: str) -> str:
    """``url`` connecting as ``user`` with ``password``, both percent-escaped (a password
    may hold ``@ : / % # ?`` and spaces); the rest of the URL (path, query) is kept."""
    parsed = urlparse(url)
    host = parsed.hostname or "127.0.0.1"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parsed.port:
        netloc += f":{parsed.port}"
    return urlunparse(parsed._replace(netloc=netloc))


@dataclass
class RoleSetUp:
    """What happened to one role: its password if this run set it, else None (kept)."""

    name: str
    created: bool
    password: str | None
    generated: bool
    ours: bool = True


@db_app.command("init")
def db_init(
    ctx: typer.Context,
    owner: Annotated[
        str,
        typer.Option(envvar="OKRGOV_DB_OWNER", callback=_owner_name, help="Owner role."),
    ] = "okrgov_owner",
    owner_password: Annotated[
        str | None,
        typer.Option(
            envvar="OKRGOV_DB_OWNER_PASSWORD",
            help="Set on the owner role; generated when the role is created without one, "
            "kept when the role exists and none is given.",
        ),
    ] = None,
    app_role: Annotated[
        str,
        typer.Option(
            "--app-role",
            envvar="OKRGOV_DB_APP_ROLE",
            callback=_app_role_name,
            help="The role okrgov connects as.",
        ),
    ] = "okrgov_app",
    app_password: Annotated[
        str | None,
        typer.Option(
            envvar="OKRGOV_DB_APP_PASSWORD",
            help="Set on the application role; generated when the role is created without "
            "one, kept when the role exists and none is given.",
        ),
    ] = None,
    admin_url: Annotated[
        str | None,
        typer.Option(
            envvar="OKRGOV_DB_ADMIN_URL",
            help="A connection that may create roles (a superuser); OKRGOV_DATABASE_URL "
            "when not given.",
        ),
    ] = None,
    reset_passwords: Annotated[
        bool,
        typer.Option(
            "--reset-passwords",
            help="Also take over roles this command did not create: set their passwords "
            "(given or generated). Without it such a role is refused.",
        ),
    ] = False,
    read_models_schema: Annotated[
        str | None,
        typer.Option(
            envvar="OKRGOV_DB_READ_MODELS_SCHEMA",
            callback=_read_models_schema,
            help="Also create this schema, owned by the application role, for the "
            "projection workers' read models (they create their tables in it).",
        ),
    ] = None,
) -> None:
    """Make PostgreSQL hold the events append-only (safe to run again).

    Creates the owner and application roles, the events table owned by the owner with
    its append-only triggers, and the application role's grants."""
    settings = configured(ctx).settings
    url = admin_url or settings.database_url
    if not url or not is_postgres(settings.model_copy(update={"database_url": url})):
        typer.echo(
            "error: db init sets up PostgreSQL (give --admin-url or OKRGOV_DATABASE_URL); "
            "on SQLite the events table is made append-only by a trigger at start-up",
            err=True,
        )
        raise typer.Exit(2)
    if owner == app_role:
        typer.echo("error: --owner and --app-role must name two different roles", err=True)
        raise typer.Exit(2)
    schema = settings.database_schema or "public"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_advisory_lock(hashtext(%s))", (_SET_UP_LOCK,))
        try:
            # One transaction (role and schema DDL are transactional): a refusal or a
            # failure part way leaves the database as it was.
            with admin.transaction():
                roles = _set_up_roles(
                    admin,
                    {owner: owner_password, app_role: app_password},
                    reset_passwords,
                )
                _set_up_schemas(admin, schema, owner, app_role, read_models_schema)
                table = _set_up_events_table(admin, settings, url, schema, owner, app_role)
        except SetUpRefused as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        finally:
            admin.execute("SELECT pg_advisory_unlock(hashtext(%s))", (_SET_UP_LOCK,))
        version = admin.info.server_version

    _report(url, schema, table, version, roles[owner], roles[app_role], read_models_schema)


def _set_up_roles(
    admin: psycopg.Connection, wanted: dict[str, str | None], reset_passwords: bool
) -> dict[str, RoleSetUp]:
    """Create the roles that are missing (marked as ours); check every existing one
    before changing any, so a refusal leaves all of them as they were."""
    found: dict[str, tuple[bool, str | None]] = {}
    for role in wanted:
        row = admin.execute(
            "SELECT rolsuper, shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s",
            (role,),
        ).fetchone()
        if row is None:
            continue
        superuser, comment = bool(row[0]), row[1]
        if superuser:
            raise SetUpRefused(
                f"role {role} is a superuser: a superuser passes every grant and may "
                "disable the append-only triggers; name another role"
            )
        found[role] = (comment == CREATED_MARK, comment)
        if comment != CREATED_MARK and not reset_passwords:
            raise SetUpRefused(
                f"role {role} exists and was not created by okrgov db init: its password "
                "is left alone; name another role, or pass --reset-passwords to take it "
                "over and set its password"
            )
    done = {}
    for role, given in wanted.items():
        name = sql.Identifier(role)
        if role not in found:
            new = given or secrets.token_urlsafe(24)
            admin.execute(
                sql.SQL("CREATE ROLE {role} LOGIN PASSWORD {password}").format(
                    role=name, password=sql.Literal(new)
                )
            )
            admin.execute(
                sql.SQL("COMMENT ON ROLE {role} IS {mark}").format(
                    role=name, mark=sql.Literal(CREATED_MARK)
                )
            )
            done[role] = RoleSetUp(role, True, new, not given)
            continue
        ours = found[role][0]
        # One of ours keeps its password unless one is given; one taken over with
        # --reset-passwords gets the given one or a new one.
        password: str | None = given or (None if ours else secrets.token_urlsafe(24))
        if password is None:
            admin.execute(sql.SQL("ALTER ROLE {role} LOGIN").format(role=name))
        else:
            admin.execute(
                sql.SQL("ALTER ROLE {role} LOGIN PASSWORD {password}").format(
                    role=name, password=sql.Literal(password)
                )
            )
        generated = password is not None and not given
        done[role] = RoleSetUp(role, False, password, generated, ours)
    return done


def _set_up_schemas(
    admin: psycopg.Connection, schema: str, owner: str, app_role: str, read_models: str | None
) -> None:
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
    if read_models:
        app = sql.Identifier(app_role)
        target = sql.Identifier(read_models)
        admin.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {app}").format(
                schema=target, app=app
            )
        )
        admin.execute(
            sql.SQL("GRANT USAGE, CREATE ON SCHEMA {schema} TO {app}").format(
                schema=target, app=app
            )
        )


def _set_up_events_table(
    admin: psycopg.Connection,
    settings: Settings,
    url: str,
    schema: str,
    owner: str,
    app_role: str,
) -> str:
    """As the owner: the event store's tables (the statements the event-sourcing library
    would run), the append-only triggers, and the application role's grants. Returns the
    events table's qualified name."""
    recorder_settings = settings.model_copy(
        update={"database_url": url, "database_schema": schema, "create_tables": False}
    )
    factory = store_factory(recorder_settings)  # builds statements, no I/O
    try:
        recorder = factory.application_recorder()
        statements = list(getattr(recorder, "sql_create_statements", []))
        table_name: str = getattr(recorder, "events_table_name")  # noqa: B009
    finally:
        factory.close()
    table = sql.Identifier(schema, table_name)
    qualified = table.as_string(admin)
    with admin.transaction():
        admin.execute(sql.SQL("SET LOCAL ROLE {owner}").format(owner=sql.Identifier(owner)))
        found = admin.execute(
            "SELECT tableowner FROM pg_tables WHERE schemaname = %s AND tablename = %s",
            (schema, table_name),
        ).fetchone()
        if found is not None and found[0] != owner:
            raise SetUpRefused(
                f"the events table {qualified} exists, owned by {found[0]}, not by {owner}: "
                f"give --owner that role, or move the table to {owner} (ALTER TABLE "
                f"{qualified} OWNER TO {owner}) as a superuser first"
            )
        for statement in statements:
            if "CREATE TYPE" in statement.as_string(admin):
                # No IF NOT EXISTS for types: try it in a savepoint.
                with suppress(psycopg.errors.DuplicateObject), admin.transaction():
                    admin.execute(statement, prepare=False)
        for statement in statements:
            if "CREATE TYPE" not in statement.as_string(admin):
                admin.execute(statement, prepare=False)
        trigger = admin.execute(
            "SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND tgname = %s",
            (qualified, APPEND_ONLY_TRIGGER),
        ).fetchone()
        if trigger is None:
            for composed in postgres_append_only_statements(schema, table_name):
                admin.execute(composed)
        _grant(admin, table, qualified, app_role)
        admin.execute("RESET ROLE")
    return qualified


def _grant(conn: psycopg.Connection, table: sql.Identifier, qualified: str, app_role: str) -> None:
    """Read and insert events; the lock the event recorder takes on every insert (LOCK
    TABLE ... IN EXCLUSIVE MODE, to keep notification ids in commit order) needs MAINTAIN
    on PostgreSQL 17+, and UPDATE before that, which the trigger then refuses to use."""
    app = sql.Identifier(app_role)
    lock = sql.SQL("MAINTAIN" if conn.info.server_version >= _MAINTAIN_SINCE else "UPDATE")
    conn.execute(sql.SQL("REVOKE ALL ON {table} FROM PUBLIC, {app}").format(table=table, app=app))
    conn.execute(
        sql.SQL("GRANT SELECT, INSERT, {lock} ON {table} TO {app}").format(
            lock=lock, table=table, app=app
        )
    )
    found = conn.execute(
        "SELECT pg_get_serial_sequence(%s, 'notification_id')", (qualified,)
    ).fetchone()
    if found and found[0]:
        conn.execute(
            sql.SQL("GRANT USAGE, SELECT ON SEQUENCE {seq} TO {app}").format(
                seq=sql.SQL(found[0]), app=app
            )
        )


def _report(
    url: str,
    schema: str,
    table: str,
    version: int,
    owner: RoleSetUp,
    app: RoleSetUp,
    read_models: str | None,
) -> None:
    for role in (owner, app):
        if role.created:
            typer.echo(f"role {role.name}: created")
        elif not role.ours:
            typer.echo(f"role {role.name}: exists, taken over (--reset-passwords); password set")
        else:
            done = "password kept" if role.password is None else "password set"
            typer.echo(f"role {role.name}: exists (created by db init); {done}")
    if version >= _MAINTAIN_SINCE:
        typer.echo(
            f"events table {table}: owned by {owner.name}; {app.name} may SELECT, INSERT "
            "and MAINTAIN (for LOCK TABLE); UPDATE, DELETE and TRUNCATE are refused by "
            "trigger for every role"
        )
    else:
        major = version // 10000
        typer.echo(
            f"events table {table}: owned by {owner.name}; {app.name} may SELECT, INSERT "
            "and UPDATE; DELETE and TRUNCATE are not granted, and a trigger refuses "
            "UPDATE, DELETE and TRUNCATE for every role"
        )
        typer.echo(
            f"WARNING: PostgreSQL {major} is older than 17: {app.name} holds UPDATE on the "
            "events table, because the event store's LOCK TABLE ... IN EXCLUSIVE MODE needs "
            f"it before 17 (17 has MAINTAIN). Only the trigger {APPEND_ONLY_TRIGGER} stops "
            f"{app.name} updating events; anyone who can disable it (the owner "
            f"{owner.name}, a superuser) can change history, and the integrity checks are "
            "then what tells. Upgrade to PostgreSQL 17 and re-run db init to drop the grant."
        )
    if read_models:
        typer.echo(
            f"schema {read_models}: owned by {app.name}, for the projection workers' read "
            f"models (OKRGOV_DATABASE_SCHEMA={read_models}); they create their tables in it"
        )
    generated = [r for r in (owner, app) if r.generated]
    if generated:
        typer.echo(
            f"generated passwords for {', '.join(r.name for r in generated)}; keep them now:"
        )
        for role in generated:
            typer.echo(f"  {role.name}: {role.password}")
    typer.echo("run okrgov as the application role, without creating the events table:")
    typer.echo(
        f"  OKRGOV_DATABASE_URL={_with_user(url, app.name, app.password or KEPT_PASSWORD)} "
        f"OKRGOV_DATABASE_SCHEMA={schema} {NO_CREATE_TABLES}"
    )
    if app.password is None:
        typer.echo(
            f"  ({KEPT_PASSWORD}: the password {app.name} already has, percent-escaped; "
            "give --app-password to set one)"
        )
