"""The ``okrgov`` command line: its entry (the one place it reads the settings), ``serve``
and ``demo``, and the command groups, each in a module of its own."""

from typing import Annotated

import structlog
import typer

from infra.config import Settings
from services.application.demo import load_demo
from services.bootstrap import Platform
from services.cli.audit import audit_app
from services.cli.context import Configured, configured
from services.cli.db import db_app
from services.cli.decisions import decisions_app
from services.cli.integrity import checkpoint, start_or_refuse, verify
from services.cli.policy import policy_app
from services.cli.projections import projections_app
from services.cli.repudiation import repudiation_app
from services.cli.stream import stream_app
from services.cli.tokens import token_app
from services.workers.projector import projector
from services.workers.relay import relay

app = typer.Typer(help="okrgov: event-sourced OKR governance.", no_args_is_help=True)
app.add_typer(token_app, name="token", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(decisions_app, name="decisions")
app.add_typer(stream_app, name="stream")
app.add_typer(repudiation_app, name="repudiation", no_args_is_help=True)
app.command("verify")(verify)
app.command("checkpoint")(checkpoint)
app.command("relay")(relay)
app.command("projector")(projector)

log = structlog.get_logger(__name__)


@app.callback()
def configure(ctx: typer.Context) -> None:
    # The one place the command line reads its configuration (once per invocation, on
    # first use); every command gets it, and its platform, through ``configured(ctx)``.
    ctx.obj = Configured(lambda: Settings())


def _has_no_cycles(platform: Platform) -> bool:
    """A store fresh but for its seeded policy: no cycle has been opened yet."""
    platform.catch_up()
    return not platform.okr_state.find("cycle")


@app.command()
def serve(
    ctx: typer.Context,
    host: str = "127.0.0.1",
    port: int = 8000,
    demo_if_empty: Annotated[
        bool, typer.Option(help="Load the demo quarter when the store has no cycle yet.")
    ] = False,
) -> None:
    """Run the HTTP API with its projections following the store."""
    from services.api.app import create_app
    from services.api.server import serve as serve_http

    platform = configured(ctx).platform()
    start_or_refuse(platform)  # before anything is recorded: a refused key records nothing
    if demo_if_empty and _has_no_cycles(platform):
        load_demo(platform.ledger)
        log.info("demo.loaded")
    try:
        serve_http(create_app(platform), host, port)
    finally:
        platform.close()


@app.command()
def demo(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option(help="Load even if the store has cycles.")] = False,
) -> None:
    """Load the demo quarter of a 30-person fund manager."""
    platform = configured(ctx).platform()
    try:
        if not force and not _has_no_cycles(platform):
            typer.echo("The store already has cycles; use --force to add the demo anyway.")
            raise typer.Exit(1)
        cycle_id = load_demo(platform.ledger)
        platform.catch_up()
        typer.echo(f"demo quarter loaded: cycle {cycle_id}")
    finally:
        platform.close()
