"""``okrgov repudiation``: disown a checkpoint that does not verify, four eyes, on the
record (nothing is deleted). The command line acts with the admin role, as the person
``--by`` names (default: the login name): whoever runs it holds the store's credentials,
as for ``okrgov token``. Through the API the caller's token says who, and which roles."""

import getpass
from typing import Annotated

import typer

from events.errors import DomainError, NotFound
from events.identity import InvalidUserId, canonical_user_id
from infra.logging import correlated
from services.application.errors import Forbidden
from services.application.evidence.checkpoints import SignedCheckpoint
from services.application.evidence.repudiation import Repudiations
from services.application.principals import Principal, Role
from services.cli.context import configured

repudiation_app = typer.Typer(
    help="Repudiate checkpoints that do not verify: asked by one person, approved by another."
)

_BY_HELP = "Who is acting (your user id); defaults to your login name."
Position = Annotated[int, typer.Argument(min=1, help="Where the checkpoint is recorded.")]


def _operator(by: str | None) -> Principal:
    try:
        user = canonical_user_id(by if by is not None else getpass.getuser())
    except InvalidUserId as exc:
        raise typer.BadParameter(str(exc), param_hint="--by") from None
    return Principal.of(user, [Role.ADMIN])


def _act(
    ctx: typer.Context, verb: str, position: int, by: str | None, reason: str | None
) -> SignedCheckpoint:
    principal = _operator(by)
    platform = configured(ctx).platform()
    try:
        repudiations = Repudiations(platform.ledger)
        with correlated(None, command=f"repudiation.{verb}"):
            try:
                done = getattr(repudiations, verb)(principal, position, reason)
            except (DomainError, Forbidden, NotFound) as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(1) from None
            checkpoint = repudiations.checkpoint(position)
        typer.echo(f"recorded at position {done.position} by {principal.user}")
        return checkpoint
    finally:
        platform.close()


@repudiation_app.command("request")
def request(
    ctx: typer.Context,
    position: Position,
    reason: Annotated[str, typer.Option(help="Why this checkpoint is not the store's.")],
    by: Annotated[str | None, typer.Option(help=_BY_HELP)] = None,
) -> None:
    """Ask to repudiate the checkpoint at POSITION (one that does not verify)."""
    checkpoint = _act(ctx, "request", position, by, reason)
    typer.echo(checkpoint.describe())
    typer.echo(
        f"another executive or admin decides: okrgov repudiation approve {position} "
        f"(or reject {position}) --by THEIR_ID"
    )


@repudiation_app.command("approve")
def approve(
    ctx: typer.Context,
    position: Position,
    by: Annotated[str | None, typer.Option(help=_BY_HELP)] = None,
    reason: Annotated[str | None, typer.Option(help="Why you approve.")] = None,
) -> None:
    """Approve the pending repudiation of the checkpoint at POSITION (not its requester)."""
    checkpoint = _act(ctx, "approve", position, by, reason)
    typer.echo(checkpoint.describe())
    typer.echo("okrgov verify reports it as repudiated and no longer fails on it")


@repudiation_app.command("reject")
def reject(
    ctx: typer.Context,
    position: Position,
    by: Annotated[str | None, typer.Option(help=_BY_HELP)] = None,
    reason: Annotated[str | None, typer.Option(help="Why you reject.")] = None,
) -> None:
    """Reject the pending repudiation of the checkpoint at POSITION (not its requester)."""
    checkpoint = _act(ctx, "reject", position, by, reason)
    typer.echo(checkpoint.describe())


@repudiation_app.command("list")
def list_checkpoints(ctx: typer.Context) -> None:
    """Every checkpoint that does not verify, and where its repudiation stands."""
    platform = configured(ctx).platform()
    try:
        with correlated(None, command="repudiation.list"):
            checkpoints = platform.evidence.verifier().checkpoints()
    finally:
        platform.close()
    unverified = [c for c in checkpoints if not c.signature_valid]
    for c in unverified:
        typer.echo(c.describe())
    rogue = sum(1 for c in unverified if c.rogue)
    typer.echo(
        f"{len(checkpoints)} checkpoints, {len(unverified)} do not verify: "
        f"{len(unverified) - rogue} repudiated, {rogue} not"
    )
