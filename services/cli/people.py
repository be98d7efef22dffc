"""``okrgov people``: the directory from the command line: list it, show one person with
their directory history, deactivate a leaver (which also revokes their okrgov tokens) or
reactivate someone, each change recorded as an event naming who made it (the system
actor, ``okrgov``, unless ``--by`` says who).

What the directory holds is printed on stdout; what was recorded, and the summary, on
stderr, as ``okrgov token`` does."""

from typing import Annotated

import typer

from events.errors import NotFound
from events.identity import SYSTEM, InvalidUserId, canonical_user_id
from infra.logging import correlated
from services.application import directory_reads
from services.application.ledger_base import Recorded
from services.application.people import Person
from services.bootstrap import Platform
from services.cli.context import configured

people_app = typer.Typer(
    help="The people directory: list, show, deactivate (a leaver) and reactivate people."
)

_BY_HELP = f"Who is acting (a user id); defaults to the system actor, {SYSTEM!r}."
_REASON_HELP = "Why (recorded with the change)."


def _user_id(text: str, option: str) -> str:
    try:
        user = canonical_user_id(text)
    except InvalidUserId as exc:
        raise typer.BadParameter(f"{text!r}: {exc}", param_hint=option) from None
    if user != text:
        typer.echo(f"note: {option} {text!r} is the user id {user!r}", err=True)
    return user


def _line(person: Person) -> str:
    state = "active" if person.active else "DEACTIVATED"
    groups = ",".join(person.groups) or "-"
    return (
        f"{person.user_id:<16} {person.name or '-':<24} {person.email or '-':<28} "
        f"{person.job_role or '-':<20} {person.team or '-':<20} {groups:<28} {state}"
    )


@people_app.command("list")
def people_list(
    ctx: typer.Context,
    active: Annotated[
        bool | None,
        typer.Option("--active/--inactive", help="Only people who may act, or only leavers."),
    ] = None,
    team: Annotated[str | None, typer.Option(help="Only this team (ignoring case).")] = None,
) -> None:
    """List the directory: user id, name, e-mail, job role, team, groups, active."""
    platform = configured(ctx).platform()
    try:
        wanted = team.strip().casefold() if team is not None else None
        found = [
            person
            for _, person in sorted(platform.people.items())
            if (active is None or person.active == active)
            and (wanted is None or person.team.casefold() == wanted)
        ]
        for person in found:
            typer.echo(_line(person))
        inactive = sum(1 for p in found if not p.active)
        typer.echo(f"{len(found)} people ({inactive} deactivated)", err=True)
    finally:
        platform.close()


@people_app.command("show")
def people_show(
    ctx: typer.Context, user: Annotated[str, typer.Argument(help="The person's user id.")]
) -> None:
    """One person, and their directory history: who changed what of them, and when."""
    subject = _user_id(user, "USER")
    platform = configured(ctx).platform()
    try:
        person = _found(platform, subject)
        typer.echo(_line(person))
        if person.title:
            typer.echo(f"title: {person.title}")
        platform.catch_up()
        entries = directory_reads.history(platform.directory, platform.audit, subject)
        names = platform.names
        for entry in entries:
            actor = entry["actor"] or "-"
            group = entry["details"].get("group")
            what = f"{entry['action']}{f' ({group})' if group else ''}"
            why = f": {entry['reason']}" if entry["reason"] else ""
            typer.echo(
                f"{entry['at'][:16].replace('T', ' ')} UTC  #{entry['position']:<6} {what} "
                f"by {names.get(actor, actor)}{why}"
            )
        typer.echo(f"{len(entries)} directory change(s) of {subject}", err=True)
    finally:
        platform.close()


def _found(platform: Platform, user: str) -> Person:
    person = platform.directory.find(user)
    if person is None:
        typer.echo(f"error: no person {user} in the directory", err=True)
        raise typer.Exit(1)
    return person


def _operator(by: str | None) -> str:
    """Who the command acts as: ``--by``, else the system actor."""
    return _user_id(by, "--by") if by is not None else SYSTEM


def _set_active(
    platform: Platform, subject: str, active: bool, operator: str, reason: str
) -> Recorded:
    """Deactivate or reactivate ``subject``; exit 1 saying so for a person not provisioned."""
    try:
        return platform.directory.set_active(subject, active, by=operator, reason=reason)
    except NotFound:
        typer.echo(f"error: no person {subject} in the directory", err=True)
        raise typer.Exit(1) from None


@people_app.command("deactivate")
def people_deactivate(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The leaver's user id.")],
    reason: Annotated[str, typer.Option(help=_REASON_HELP)],
    by: Annotated[str | None, typer.Option(help=_BY_HELP)] = None,
) -> None:
    """Deactivate USER (a leaver): they can no longer sign in or act, in every process
    within OKRGOV_TOKEN_REFRESH_SECONDS, and every live okrgov token of theirs is revoked.
    Their open change requests are flagged to approvers."""
    subject = _user_id(user, "USER")
    operator = _operator(by)
    platform = configured(ctx).platform()
    try:
        with correlated(None, command="people.deactivate"):
            recorded = _set_active(platform, subject, False, operator, reason)
            if recorded.position:
                typer.echo(f"deactivated {subject} (position {recorded.position})", err=True)
            else:
                typer.echo(f"{subject} was already deactivated", err=True)
            revoked = platform.tokens.revoke_user(subject, reason, revoked_by=operator)
        for token_id in revoked:
            typer.echo(f"revoked token {token_id}", err=True)
        typer.echo(
            f"{subject} is deactivated, by {operator}; {len(revoked)} live okrgov token(s) "
            "of theirs revoked",
            err=True,
        )
    finally:
        platform.close()


@people_app.command("reactivate")
def people_reactivate(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The person's user id.")],
    reason: Annotated[str, typer.Option(help=_REASON_HELP)],
    by: Annotated[str | None, typer.Option(help=_BY_HELP)] = None,
) -> None:
    """Reactivate USER: they may sign in and act again. Tokens revoked at deactivation
    stay revoked: issue new ones (``okrgov token create``)."""
    subject = _user_id(user, "USER")
    operator = _operator(by)
    platform = configured(ctx).platform()
    try:
        with correlated(None, command="people.reactivate"):
            recorded = _set_active(platform, subject, True, operator, reason)
        if recorded.position:
            typer.echo(
                f"{subject} is active again, by {operator} (position {recorded.position}); "
                "tokens revoked at deactivation stay revoked",
                err=True,
            )
        else:
            typer.echo(f"{subject} was already active: nothing recorded", err=True)
    finally:
        platform.close()
