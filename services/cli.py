"""The ``okrgov`` command line: serve the API, issue tokens, load the demo, rebuild views."""

from typing import Annotated

import structlog
import typer

from infra.config import Settings
from infra.logging import correlated
from services.bootstrap import Platform, build
from services.demo import load_demo
from services.principals import Role

app = typer.Typer(help="okrgov: event-sourced OKR governance.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens for the API.", no_args_is_help=True)
projections_app = typer.Typer(help="Read models.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(projections_app, name="projections")

log = structlog.get_logger(__name__)


def _platform() -> Platform:
    return build(Settings())


def _store_is_empty(platform: Platform) -> bool:
    return platform.ledger.recorder.max_notification_id() in (None, 0)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    demo_if_empty: Annotated[
        bool, typer.Option(help="Load the demo quarter when the store has no events.")
    ] = False,
) -> None:
    """Run the HTTP API with its projections following the store."""
    import uvicorn

    from services.api.app import create_app

    platform = _platform()
    if demo_if_empty and _store_is_empty(platform):
        load_demo(platform.ledger)
        log.info("demo.loaded")
    platform.start()
    try:
        # Our middleware logs each request with its correlation id; uvicorn's access log
        # would repeat it without one.
        uvicorn.run(create_app(platform), host=host, port=port, log_config=None, access_log=False)
    finally:
        platform.close()


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option(help="The user id the token acts as.")],
    role: Annotated[list[Role], typer.Option(help="A role; repeat for several.")],
) -> None:
    """Print a bearer token for USER with the given roles."""
    platform = _platform()
    try:
        typer.echo(platform.tokens.create(user, [r.value for r in role]))
    finally:
        platform.close()


@app.command()
def demo(
    force: Annotated[bool, typer.Option(help="Load even if the store has events.")] = False,
) -> None:
    """Load the demo quarter of a 30-person fund manager."""
    platform = _platform()
    try:
        if not force and not _store_is_empty(platform):
            typer.echo("The store already has events; use --force to add the demo anyway.")
            raise typer.Exit(1)
        cycle_id = load_demo(platform.ledger)
        platform.catch_up()
        typer.echo(f"demo quarter loaded: cycle {cycle_id}")
    finally:
        platform.close()


@projections_app.command("rebuild")
def projections_rebuild() -> None:
    """Drop every read model and replay the whole event store into it."""
    platform = _platform()
    try:
        with correlated(None, command="projections.rebuild"):
            counts = platform.rebuild()
        for name, applied in counts.items():
            typer.echo(f"{name}: {applied} events applied")
    finally:
        platform.close()
