"""Option values the command groups parse alike."""

from datetime import datetime
from enum import StrEnum

import typer

from policies.engines import EngineName, chosen
from projections.entries import parse_timestamp


class EngineChoice(StrEnum):
    """``--engine``: one engine by name, or both."""

    EMBEDDED = "embedded"
    OPA = "opa"
    BOTH = "both"

    @property
    def engines(self) -> tuple[EngineName, ...]:
        return chosen(self.value)


def timestamp(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 ``--since``/``--until`` value; a usage error naming the option if not."""
    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
