"""A key result page's forms as the API's request bodies: a check-in becomes the body of
``POST /v1/key-results/{id}/check-ins`` (``NewCheckIn``), an edit the body of ``PATCH
/v1/key-results/{id}`` (``KeyResultRevision``), a change request the body of ``POST
/v1/change-requests`` for a key result (``KeyResultChangeRequest``). Each is validated by
that schema (``feedback.parsed``), so the page refuses what the API refuses, naming the
same field.

A form sends text; the API's numbers are strict JSON numbers. A field that reads as a
number is sent as one; anything else ("twelve") is sent as the text it is, for the schema
to refuse by name. An edit sends only the fields the person changed (the form starts
filled with the current values, and a field left as it was keeps its value)."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from services.api.schemas.change_requests import KeyResultChangeRequest
from services.api.schemas.key_results import KeyResultRevision, NewCheckIn
from services.console.feedback import parsed

#: The definition fields the edit and change-request forms offer, in form order.
EDITABLE = ("title", "unit", "baseline", "target")
_NUMBERS = frozenset({"value", "confidence", "baseline", "target"})


def as_number(text: Any) -> Any:
    """``text`` as a float if it reads as one (``"13"``, ``" 0.6 "``), else unchanged."""
    if not isinstance(text, str) or not text.strip():
        return text
    try:
        return float(text)
    except ValueError:
        return text


def given(form: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields of the form as text, to show again after a refusal."""
    return {name: str(form.get(name) or "") for name in names}


def check_in_body(form: Mapping[str, Any]) -> NewCheckIn:
    values = {name: form.get(name) for name in ("value", "confidence", "note", "effective_on")}
    return parsed(NewCheckIn, _typed(values))


def changes_made(form: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The editable fields whose value in the form differs from ``current``."""
    typed = _typed({name: form.get(name) for name in EDITABLE})
    return {
        name: value
        for name, value in typed.items()
        if value not in ("", None) and value != current.get(name)
    }


def revision_body(form: Mapping[str, Any], current: Mapping[str, Any]) -> KeyResultRevision:
    return parsed(KeyResultRevision, {**changes_made(form, current), "reason": form.get("reason")})


def change_request_body(
    form: Mapping[str, Any], current: Mapping[str, Any], key_result_id: UUID
) -> KeyResultChangeRequest:
    body = {
        "key_result_id": str(key_result_id),
        "changes": changes_made(form, current),
        "reason": form.get("reason"),
    }
    return parsed(KeyResultChangeRequest, body)


def _typed(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: as_number(v) if name in _NUMBERS else v for name, v in values.items()}
