"""``okrgov projections``: follow the store in the foreground, rebuild every view aside
and switch it in, compare the views of two databases."""

import threading
from typing import Annotated

import typer

from infra.logging import correlated
from infra.store_locks import LockHeld
from projections.follower import BATCH_SIZE
from services.cli.context import configured
from services.cli.integrity import start_or_refuse
from services.cli.progress import bars, on_terminal
from services.cli.stream import projections_compare
from services.cli.summaries import StoreViews

projections_app = typer.Typer(
    help="Read models: follow the store, rebuild them, compare a worker's with the store.",
    no_args_is_help=True,
)
projections_app.command("compare")(projections_compare)


@projections_app.command("run")
def projections_run(
    ctx: typer.Context,
    until_caught_up: Annotated[
        bool,
        typer.Option(
            "--until-caught-up", help="Stop once every view has reached the end of the store."
        ),
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Events per transaction (while catching up).")
    ] = BATCH_SIZE,
) -> None:
    """Follow the store in the foreground, as a projection worker.

    Stopped or killed at any moment, it resumes from each view's recorded position:
    nothing is missed or repeated."""
    platform = configured(ctx).platform()
    try:
        platform.projections.resize(batch_size)
        if until_caught_up:
            views = StoreViews(platform)
            platform.catch_up()
            typer.echo(f"caught up: {views.line()}")
            return
        start_or_refuse(platform)
        threading.Event().wait()
    finally:
        platform.close()


@projections_app.command("rebuild")
def projections_rebuild(ctx: typer.Context) -> None:
    """Replay the whole event store into every read model.

    Each is built aside and switched in at once, so a running API keeps serving the old
    view until the new one is whole."""
    platform = configured(ctx).platform()
    try:
        head = platform.ledger.recorder.max_notification_id() or 0
        typer.echo(f"rebuilding every view from the store (head at position {head})", err=True)
        shown: dict[str, int] = {}

        def logged(name: str, position: int) -> None:
            if position - shown.get(name, 0) >= 5000:
                shown[name] = position
                typer.echo(f"  {name}: replayed up to position {position}", err=True)

        with correlated(None, command="projections.rebuild"), bars("", head, "") as advance:
            try:
                rebuilt = platform.rebuild(advance if on_terminal() else logged)
            except LockHeld as refused:
                typer.echo(f"not rebuilt: {refused}; the views are unchanged", err=True)
                raise typer.Exit(1) from None
        for view in rebuilt:
            typer.echo(
                f"{view.projection}: {view.events} events replayed, "
                f"{view.documents} documents, switched in at position {view.position}"
            )
        up_to = max((view.position for view in rebuilt), default=head)
        typer.echo(f"rebuilt {len(rebuilt)} views from the store, up to position {up_to}", err=True)
    finally:
        platform.close()
