"""``okrgov demo``: load the demo firm's two quarters into the store, and the summary that
it and ``okrgov serve --demo-if-empty`` print afterwards."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from infra.logging import quieted
from services.application.demo import load_demo
from services.bootstrap import Platform
from services.cli.context import configured
from services.cli.progress import on_terminal


def demo(
    ctx: typer.Context,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Load into a store that already has cycles: only the demo's quarters whose "
            "cycle names are not taken yet are loaded; existing cycles are left as they are "
            "(nothing is replaced or duplicated).",
        ),
    ] = False,
) -> None:
    """Load the demo: a 30-person fund manager's last quarter (closed, scored and sealed)
    and its current one (locked, checked in on up to this week), relative to today.

    The quarters hold its people's objectives and weekly check-ins, denied attempts and
    warnings, change requests approved and rejected after lock, and a guardrail change
    approved by a second risk officer. It is seeded: loaded on the same day it records the
    same history and seals the same snapshot digest.

    The demo goes into a store with no cycles. A store with cycles is refused (exit 1)
    unless `--force`, which loads only the quarters whose names are free and says which
    it left alone. The summary says what was recorded."""
    platform = configured(ctx).platform()
    try:
        platform.catch_up()
        existing = [cycle["name"] for cycle in platform.okr_state.find("cycle")]
        if existing and not force:
            typer.echo(
                f"The store already has {len(existing)} cycle(s), so the demo was not loaded. "
                "Use --force to load the demo's quarters whose names are not taken yet "
                "(existing cycles are left as they are).",
                err=True,
            )
            raise typer.Exit(1)
        for line in load_into(platform, existing):
            typer.echo(line)
    finally:
        platform.close()


def load_into(platform: Platform, existing: list[str] | None = None) -> list[str]:
    """Load the demo (quietly: a summary, not a line per command), with its phases shown
    on a terminal; the summary's lines, with how long it took."""
    started = time.monotonic()
    with quieted(), _phases() as progress:
        summary = load_demo(platform.ledger, progress, skip=existing or ())
    platform.catch_up()
    return [*summary.lines(), f"took {time.monotonic() - started:.1f} s"]


@contextmanager
def _phases() -> Iterator[Callable[[str], None] | None]:
    """A status line on stderr naming the phase the demo is in, on a terminal only."""
    if not on_terminal():
        yield None
        return
    from rich.console import Console

    with Console(stderr=True).status("loading the demo") as status:
        yield lambda phase: status.update(f"loading the demo: {phase}")
