"""The ``okrgov`` command line: its entry (the one place it reads the settings), ``serve``
and ``demo``, and the command groups, each in a module of its own."""

import os
from typing import Annotated

import structlog
import typer

from infra.config import Settings
from services.bootstrap import Platform
from services.cli.audit import audit_app
from services.cli.context import Configured, configured
from services.cli.db import db_app
from services.cli.decisions import decisions_app
from services.cli.demo import demo, load_into
from services.cli.integrity import checkpoint, start_or_refuse, verify
from services.cli.jobs import JobGroup
from services.cli.people import people_app
from services.cli.policy import policy_app
from services.cli.projections import projections_app
from services.cli.relay import relay
from services.cli.repudiation import repudiation_app
from services.cli.stream import stream_app
from services.cli.tokens import token_app
from services.workers.projector import projector

app = typer.Typer(
    help="okrgov: event-sourced OKR governance, on the record.",
    no_args_is_help=True,
    cls=JobGroup,  # commands grouped by job (services.cli.jobs)
    rich_markup_mode="markdown",  # help paragraphs reflowed to the terminal, never cut
)
app.add_typer(token_app, name="token", no_args_is_help=True)
app.add_typer(people_app, name="people", no_args_is_help=True)
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
app.command("demo")(demo)

log = structlog.get_logger(__name__)


#: Commands that run until stopped log at OKRGOV_LOG_LEVEL (INFO by default). The others
#: print what they did, so their log shows warnings only unless OKRGOV_LOG_LEVEL is set.
RUNNING = frozenset({"serve", "relay", "projector", "projections"})


def _settings(command: str | None) -> Settings:
    settings = Settings()
    if command in RUNNING or "log_level" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"log_level": "WARNING"})


@app.callback()
def configure(ctx: typer.Context) -> None:
    # The one place the command line reads its configuration (once per invocation, on
    # first use); every command gets it, and its platform, through ``configured(ctx)``.
    ctx.obj = Configured(lambda: _settings(ctx.invoked_subcommand))


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
        bool,
        typer.Option(
            "--demo-if-empty", help="Load the demo quarter when the store has no cycle yet."
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=256,
            help="Server processes sharing the port: one per core (see docs/deployment.md).",
        ),
    ] = 1,
    cpus: Annotated[
        str | None,
        typer.Option(
            help="Cores to run on, comma-separated (e.g. 0,1): the processes take them in "
            "turn, each pinned to one. Unset: not pinned."
        ),
    ] = None,
) -> None:
    """Run the HTTP API with its projections following the store."""
    from services.api.app import create_app
    from services.api.server import pin, serve_processes
    from services.api.server import serve as serve_http

    cores = _cores(cpus)
    if cores is not None and workers == 1:
        pin(cores)  # before the platform starts a thread or a policy worker
    settings = configured(ctx).settings
    platform = configured(ctx).platform()
    start_or_refuse(platform)  # before anything is recorded: a refused key records nothing
    if demo_if_empty and _has_no_cycles(platform):
        typer.echo("\n".join(load_into(platform)))
    if workers > 1:
        # Each process builds and starts its own platform; this one only checked the store.
        platform.close()
        raise typer.Exit(serve_processes(settings, host, port, workers, cores))
    try:
        serve_http(create_app(platform), host, port)
    finally:
        platform.close()


def _cores(cpus: str | None) -> list[int] | None:
    """``--cpus`` read: the cores named, each one this process may run on."""
    if cpus is None:
        return None
    allowed = os.sched_getaffinity(0)
    try:
        cores = sorted({int(c) for c in cpus.split(",") if c.strip()})
    except ValueError:
        raise typer.BadParameter("cores are numbers, e.g. 0,1", param_hint="--cpus") from None
    if not cores or not set(cores) <= allowed:
        raise typer.BadParameter(
            f"name cores this process may run on: {sorted(allowed)}", param_hint="--cpus"
        )
    return cores
