"""The ``okrgov`` command line: serve the API, issue tokens, load the demo, rebuild views."""

import threading
from pathlib import Path
from typing import Annotated

import structlog
import typer

from infra.config import Settings
from infra.logging import correlated
from infra.store_locks import LockHeld
from policies.bundle import SHIPPED_BUNDLE_DIR
from services.application.demo import load_demo
from services.bootstrap import Platform
from services.cli.audit import audit_app
from services.cli.context import Configured, configured
from services.cli.db import db_app
from services.cli.integrity import checkpoint, start_or_refuse, verify
from services.cli.policy import policy_test as run_policy_checks
from services.cli.repudiation import repudiation_app
from services.cli.stream import projections_compare, stream_app
from services.cli.tokens import token_app
from services.workers.projector import projector
from services.workers.relay import relay

app = typer.Typer(help="okrgov: event-sourced OKR governance.", no_args_is_help=True)
projections_app = typer.Typer(help="Read models.", no_args_is_help=True)
policy_app = typer.Typer(help="Guardrail policies.", no_args_is_help=True)
app.add_typer(token_app, name="token", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(stream_app, name="stream")
projections_app.command("compare")(projections_compare)
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


@projections_app.command("run")
def projections_run(
    ctx: typer.Context,
    until_caught_up: Annotated[
        bool, typer.Option(help="Stop once every view has reached the end of the store.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per transaction.")] = 500,
) -> None:
    """Follow the store in the foreground (a projection worker). Stopped or killed at any
    moment, it resumes from each view's recorded position: nothing is missed or repeated."""
    platform = configured(ctx).platform()
    try:
        for follower in platform.followers.values():
            follower.batch_size = batch_size
        if until_caught_up:
            platform.catch_up()
            return
        start_or_refuse(platform)
        threading.Event().wait()
    finally:
        platform.close()


@projections_app.command("rebuild")
def projections_rebuild(ctx: typer.Context) -> None:
    """Replay the whole event store into every read model. Each is built aside and switched
    in at once, so a running API keeps serving the old view until the new one is whole."""
    platform = configured(ctx).platform()
    try:
        head = platform.ledger.recorder.max_notification_id() or 0
        typer.echo(f"rebuilding every view from the store (head at position {head})", err=True)
        shown: dict[str, int] = {}

        def progress(name: str, position: int) -> None:
            if position - shown.get(name, 0) >= 5000:
                shown[name] = position
                typer.echo(f"  {name}: replayed up to position {position}", err=True)

        with correlated(None, command="projections.rebuild"):
            try:
                rebuilt = platform.rebuild(progress)
            except LockHeld as refused:
                typer.echo(f"not rebuilt: {refused}; the views are unchanged", err=True)
                raise typer.Exit(1) from None
        for view in rebuilt:
            typer.echo(
                f"{view.projection}: {view.events} events replayed, "
                f"{view.documents} documents, switched in at position {view.position}"
            )
    finally:
        platform.close()


@policy_app.command("test")
def policy_test(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Argument(help="A bundle directory; the shipped bundle by default.")
    ] = SHIPPED_BUNDLE_DIR,
) -> None:
    """Run the checks a proposal passes: every test_ rule of the bundle's *_test.rego
    files (as `opa test` does), the shipped invariant tests and the settings the rules
    read, each under the time budget."""
    run_policy_checks(configured(ctx).settings, directory)
