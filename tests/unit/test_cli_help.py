"""``okrgov --help`` and every command's help as a person reads them in a terminal: every
option shown whole at 80 columns (none cut to "…"), help paragraphs reflowed to the width
instead of broken where the docstring's lines end, and the root's commands grouped by job."""

import inspect
import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from services.cli.jobs import JOBS, OTHER
from services.cli.main import app

runner = CliRunner()
BOX = "│╭╮╰╯─"


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


ALL = list(commands(typer.main.get_command(app)))
IDS = [" ".join(path) or "okrgov" for path, _ in ALL]


def shown(path: tuple[str, ...], columns: int) -> str:
    result = runner.invoke(
        app, [*path, "--help"], env={"COLUMNS": str(columns)}, terminal_width=columns
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def text_lines(output: str) -> list[str]:
    """The output's lines without the panels' borders."""
    return [line.strip(BOX + " ") for line in output.splitlines()]


@pytest.mark.parametrize(("path", "command"), ALL, ids=IDS)
@pytest.mark.parametrize("columns", [80, 120])
def test_every_option_is_shown_whole(path: tuple[str, ...], command: Any, columns: int) -> None:
    output = shown(path, columns)
    assert "…" not in output
    assert all(len(line) <= columns for line in output.splitlines())
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        for name in [*param.opts, *param.secondary_opts]:
            if name.startswith("-"):
                assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", output), name


def source_lines(help_text: str | None, first_only: bool = False) -> list[str]:
    """The docstring lines after which its paragraph goes on (where a help that is not
    reflowed would break a sentence)."""
    paragraphs = inspect.cleandoc(help_text or "").split("\n\n")
    broken = []
    for paragraph in paragraphs[:1] if first_only else paragraphs:
        broken += [line.strip() for line in paragraph.splitlines()[:-1]]
    return [line.replace("`", "") for line in broken if line]


@pytest.mark.parametrize(("path", "command"), ALL, ids=IDS)
def test_help_paragraphs_are_reflowed_not_broken_where_the_source_lines_end(
    path: tuple[str, ...], command: Any
) -> None:
    # At 200 columns a reflowed paragraph fills its lines far past the docstring's ~90.
    lines = [line.rstrip() for line in text_lines(shown(path, 200))]
    expected = source_lines(command.help)
    for sub in getattr(command, "commands", {}).values():
        expected += source_lines(sub.help, first_only=True)  # the listing's summaries
    for source in expected:
        assert not [line for line in lines if line.endswith(source)], source


def test_the_root_lists_every_command_under_its_job_in_order() -> None:
    output = shown((), 80)
    panels = [line for line in output.splitlines() if line.startswith("╭─ ")]
    titles = [line.strip("╭─╮ ") for line in panels]
    assert titles == ["Options", *(job for job, _ in JOBS)]
    assert OTHER not in titles and "Commands" not in titles
    # A command's row starts at the panel's edge; its description's next lines are indented.
    rows = [line for line in output.splitlines() if re.match(r"│ [a-z]", line)]
    listed = [row.split()[1] for row in rows]
    order = [name for _, names in JOBS for name in names]
    assert [name for name in listed if name in order] == order
    registered = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert registered == set(order)  # a new command must be given a job
