"""How ``okrgov --help`` lists its commands: grouped by the job they do, in the order a
newcomer meets them (run the platform, set it up, look at the evidence, the guardrails,
the views). One table, ``JOBS``, says where each command goes; a command missing from it
is listed last under "Other commands" (tests/unit/test_cli_help.py fails on it)."""

from typing import Any

import typer
from typer.core import TyperGroup

JOBS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Run the platform", ("serve", "relay", "projector")),
    ("Set up", ("demo", "token", "people", "db")),
    ("Evidence", ("verify", "checkpoint", "audit", "decisions", "repudiation")),
    ("Guardrails", ("policy",)),
    ("Views", ("projections", "stream")),
)
OTHER = "Other commands"

_ORDER = [name for _, names in JOBS for name in names]
_PANEL = {name: panel for panel, names in JOBS for name in names}


def panel_of(command: str) -> str:
    """The help panel a command of the root is listed under."""
    return _PANEL.get(command, OTHER)


class JobGroup(TyperGroup):
    """The root command: each subcommand under its job's panel, in ``JOBS`` order."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, command in self.commands.items():
            command.rich_help_panel = panel_of(name)  # type: ignore[attr-defined]

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: _ORDER.index(n) if n in _ORDER else len(_ORDER))
