"""``okrgov audit export``: the audit trail as CSV or JSON lines, to a file or stdout,
streamed from the entries table a chunk at a time (the same rows as ``GET /v1/audit``).

An export that fails part way exits non-zero; with ``--output`` it is written to a
temporary file beside the target and moved into place only once complete, so a file of
that name is always a whole export (and, like the trail it holds, private: 0600)."""

import os
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TextIO
from uuid import UUID

import typer

from events.identity import InvalidUserId, canonical_user_id
from projections.audit import EXPORTS
from projections.entries import EntryQuery
from services.cli.context import configured
from services.cli.options import timestamp
from services.cli.progress import bars, counted

audit_app = typer.Typer(
    help="The audit trail: export it as CSV or JSON lines, to a file or stdout.",
    no_args_is_help=True,
)


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


def _uuid(text: str | None, option: str) -> str | None:
    if text is None:
        return None
    try:
        return str(UUID(text))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an id (a UUID)", param_hint=option) from None


@audit_app.command("export")
def export(
    ctx: typer.Context,
    format: Annotated[ExportFormat, typer.Option("--format", help="csv or jsonl.")],
    aggregate_id: Annotated[str | None, typer.Option(help="One aggregate's entries.")] = None,
    objective_id: Annotated[
        str | None,
        typer.Option(help="An objective with its key results, check-ins, change requests."),
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Entries of one user.")] = None,
    type: Annotated[
        str | None, typer.Option("--type", help="One event type, e.g. KeyResult.Revised.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="ISO 8601; at or after.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO 8601; before.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Export the audit trail, brought up to date with the store first.

    Ends with how many rows (entries) were written, and where, on stderr (a bar counts
    them while it runs, on a terminal)."""
    start, end = timestamp(since, "--since"), timestamp(until, "--until")
    if start and end and end <= start:
        raise typer.BadParameter("must be later than --since", param_hint="--until")
    query = EntryQuery(
        aggregate_id=_uuid(aggregate_id, "--aggregate-id"),
        objective_id=_uuid(objective_id, "--objective-id"),
        actor=_user(actor),
        action=type,
        since=start,
        until=end,
    )
    if output is not None:
        _writable(output)
    platform = configured(ctx).platform()
    try:
        platform.catch_up()
        view = platform.audit
        # Up to where the trail is now: an export of a growing store still ends.
        with bars("exporting", None, "rows") as advance:
            entries = counted(view.pages(replace(query, upto=view.position())), advance)
            lines = EXPORTS[format.value](entries)
            if output is None:
                _write(lines, sys.stdout)
            else:
                _write_whole(lines, output)
    finally:
        platform.close()
    where = "stdout" if output is None else str(output)
    typer.echo(f"{entries.count} {'row' if entries.count == 1 else 'rows'} to {where}", err=True)


def _user(text: str | None) -> str | None:
    """An actor filter names a person in any spelling of their user id."""
    if text is None:
        return None
    try:
        return canonical_user_id(text)
    except InvalidUserId as exc:
        raise typer.BadParameter(str(exc), param_hint="--actor") from None


def _writable(output: Path) -> None:
    """Refuse, before reading anything, a file that cannot be written where it is named."""
    folder = output.parent
    if output.is_dir():
        raise typer.BadParameter(f"{output} is a directory; name a file", param_hint="--output")
    if not folder.is_dir():
        raise typer.BadParameter(f"the directory {folder} does not exist", param_hint="--output")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise typer.BadParameter(f"the directory {folder} is not writable", param_hint="--output")


def _write_whole(lines: Iterable[str], output: Path) -> None:
    """Write to a temporary file beside ``output``, then rename it into place."""
    fd, partial = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            _write(lines, out)
        os.replace(partial, output)
    except BaseException:
        os.unlink(partial)
        raise


def _write(lines: Iterable[str], out: TextIO) -> None:
    for line in lines:
        out.write(line)
