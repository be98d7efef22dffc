"""What a change request would change, field by field: the value its target has now and
the value the request proposes (``before -> after``), as the approvals inbox shows it to
the person deciding. A retirement changes the status; an addition has no "before"."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from events.values import ChangeKind

#: The order fields are shown in (what is scored first); any other field follows, by name.
FIELD_ORDER = (
    "title",
    "description",
    "owner",
    "level",
    "commitment",
    "parent_id",
    "unit",
    "baseline",
    "target",
    "direction",
    "risk_domain",
    "risk_rating",
    "pay_linked",
    "guardrail_metric",
)


@dataclass(frozen=True)
class FieldChange:
    """One field of the target: its value now (None: not there yet) and as proposed."""

    field: str
    before: Any
    after: Any


def _ordered(names: list[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(FIELD_ORDER)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def change_diff(request: Mapping[str, Any], target: Mapping[str, Any] | None) -> list[FieldChange]:
    """The fields ``request`` (a change request document) would change in ``target`` (the
    current document of the key result or objective it revises or retires; ignored for an
    addition, whose every field is new). A revision lists the fields it names, also one
    whose proposed value equals the current one (the requester asked for it)."""
    kind = request.get("kind") or (
        ChangeKind.RETIRE if request.get("retire") else ChangeKind.REVISE
    )
    changes: Mapping[str, Any] = request.get("changes") or {}
    if kind in (ChangeKind.ADD_KEY_RESULT, ChangeKind.ADD_OBJECTIVE):
        return [FieldChange(name, None, changes[name]) for name in _ordered(list(changes))]
    current: Mapping[str, Any] = target or {}
    if kind == ChangeKind.RETIRE:
        return [FieldChange("status", current.get("status", "active"), "retired")]
    return [FieldChange(name, current.get(name), changes[name]) for name in _ordered(list(changes))]
