"""``okrgov token``: issue bearer tokens on the record, revoke them, list them.

The token text goes to stdout (so ``export TOM=$(okrgov token create ...)`` works); what
was recorded, and any canonicalisation of the user id, goes to stderr."""

import getpass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

import typer

from events.errors import NotFound
from events.identity import InvalidUserId, canonical_user_id
from infra.logging import correlated
from services.application.access import MAX_TOKEN_TTL
from services.application.principals import Role
from services.cli.context import configured

token_app = typer.Typer(help="Bearer tokens for the API, issued and revoked on the record.")

_BY_HELP = "Who is acting (your user id); defaults to your login name."


def _user_id(text: str, option: str) -> str:
    """The canonical user id, saying so on stderr when it differs from what was typed."""
    try:
        user = canonical_user_id(text)
    except InvalidUserId as exc:
        raise typer.BadParameter(f"{text!r}: {exc}", param_hint=option) from None
    if user != text:
        typer.echo(f"note: {option} {text!r} is the user id {user!r}", err=True)
    return user


def _operator(by: str | None) -> str:
    return _user_id(by if by is not None else getpass.getuser(), "--by")


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    user: Annotated[str, typer.Option(help="The user id the token acts as.")],
    role: Annotated[list[Role], typer.Option(help="A role; repeat for several.")],
    days: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_TOKEN_TTL.days,
            help="Lifetime in days (default: OKRGOV_TOKEN_TTL_DAYS, 30).",
        ),
    ] = None,
    by: Annotated[str | None, typer.Option(help=_BY_HELP)] = None,
    reason: Annotated[str | None, typer.Option(help="Why the token is issued.")] = None,
) -> None:
    """Issue a token for USER with the given roles, recorded as an event, and print it."""
    subject = _user_id(user, "--user")
    issuer = _operator(by)
    platform = configured(ctx).platform()
    try:
        with correlated(None, command="token.create"):
            issued = platform.tokens.issue(
                subject,
                [r.value for r in role],
                issued_by=issuer,
                ttl=timedelta(days=days) if days else None,
                reason=reason,
            )
        record = issued.record
        typer.echo(issued.text)
        typer.echo(
            f"token {record.token_id} for {record.subject} ({', '.join(record.roles)}), "
            f"issued by {record.issued_by}, expires {record.expires_at:%Y-%m-%d %H:%M} UTC; "
            f"recorded at position {record.position}",
            err=True,
        )
    finally:
        platform.close()


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option(help="Why (recorded with the revocation).")],
    token_id: Annotated[
        UUID | None, typer.Option("--id", help="The token's id (see `okrgov token list`).")
    ] = None,
    user: Annotated[str | None, typer.Option(help="Revoke every live token of this user.")] = None,
    by: Annotated[str | None, typer.Option(help=_BY_HELP)] = None,
) -> None:
    """Revoke one token (--id) or every live token of a user (--user).

    Every API process refuses a revoked token within OKRGOV_TOKEN_REFRESH_SECONDS."""
    if (token_id is None) == (user is None):
        raise typer.BadParameter("give exactly one of --id and --user")
    operator = _operator(by)
    subject = _user_id(user, "--user") if user is not None else None
    platform = configured(ctx).platform()
    try:
        with correlated(None, command="token.revoke"):
            if token_id is not None:
                try:
                    recorded = platform.tokens.revoke(token_id, reason, revoked_by=operator)
                except NotFound:
                    typer.echo(f"error: no token {token_id} on record", err=True)
                    raise typer.Exit(1) from None
                typer.echo(f"revoked token {token_id} (position {recorded.position})")
                return
            assert subject is not None
            revoked = platform.tokens.revoke_user(subject, reason, revoked_by=operator)
        for revoked_id in revoked:
            typer.echo(f"revoked token {revoked_id}")
        typer.echo(f"{len(revoked)} live token(s) of {subject} revoked")
    finally:
        platform.close()


@token_app.command("list")
def token_list(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
    live: Annotated[bool, typer.Option(help="Only tokens neither expired nor revoked.")] = False,
) -> None:
    """List every token on record: id, user, roles, who issued it, expiry, revocation."""
    subject = _user_id(user, "--user") if user is not None else None
    platform = configured(ctx).platform()
    try:
        now = datetime.now(UTC)
        records = [
            r
            for r in platform.tokens.access_list.records()
            if (subject is None or r.subject == subject) and (not live or r.live(now))
        ]
        for r in records:
            state = (
                f"revoked by {r.revoked_by} {r.revoked_at:%Y-%m-%d}"
                if r.revoked_at
                else ("expired" if not r.live(now) else "live")
            )
            typer.echo(
                f"{r.token_id}  {r.subject:<16} {','.join(r.roles):<24} "
                f"by {r.issued_by:<12} expires {r.expires_at:%Y-%m-%d}  {state}"
            )
        typer.echo(f"{len(records)} token(s)", err=True)
    finally:
        platform.close()
