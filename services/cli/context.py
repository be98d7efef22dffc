"""What every ``okrgov`` command receives from the entry point (``services.cli.main``): the
configuration, read once per invocation, and the platform built from it by the
composition root. No command module reads the environment or wires a part itself: a
command takes ``ctx: typer.Context`` and asks ``configured(ctx)``."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import typer

from infra.config import Settings
from services.bootstrap import Platform, build


@dataclass
class Configured:
    """The invocation's settings, read on first use (a command that needs none, such as
    ``--help``, never reads the environment), and the platform built from them."""

    read: Callable[[], Settings]

    @cached_property
    def settings(self) -> Settings:
        return self.read()

    def platform(self) -> Platform:
        """A platform over the configured store (the caller closes it)."""
        return build(self.settings)


def configured(ctx: typer.Context) -> Configured:
    """The configuration the entry point put on the command's context."""
    found = ctx.find_object(Configured)
    if found is None:
        raise RuntimeError("an okrgov command runs under services.cli.main's app")
    return found
