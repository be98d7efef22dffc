"""The JSON shapes of key results (``/v1/key-results``): a new key result, a revision,
a check-in, and the key result document. The definition fields come from the typed
definition (``definition_fields``), not from a list of their own."""

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from services.api.schemas.common import (
    Confidence,
    Number,
    Prose,
    Reason,
    Request,
    Status,
    UserId,
    Versioned,
)
from services.api.schemas.definition_fields import (
    change_field,
    document_field,
    new_field,
    with_definition_fields,
)


@with_definition_fields(new_field)
class NewKeyResult(Request):
    """A key result. Cross-field rules (checked by the domain, 422 ``not_measurable`` on
    ``target``): ``target`` differs from ``baseline``; an ``increase`` has target above
    baseline, a ``decrease`` below. The guardrails then judge the definition (422
    ``guardrail_denied`` listing each rule, e.g. ``pay_linked``, ``risk_appetite``)."""


@with_definition_fields(change_field)
class KeyResultChanges(Request):
    """The definition fields to change; a field left out keeps its value. The definition
    they give must keep the rules of a new key result (see ``NewKeyResult``)."""

    def given(self) -> dict[str, Any]:
        """Only the fields the client sent (null included for the nullable ones)."""
        return self.model_dump(mode="json", exclude_unset=True, exclude={"reason"})


class KeyResultRevision(KeyResultChanges):
    reason: Reason | None = None


class NewCheckIn(Request):
    """A check-in. ``effective_on`` is the date of the week it reports (YYYY-MM-DD; today
    if left out): not later than today and within the key result's cycle (422 naming
    ``effective_on`` otherwise)."""

    value: Number
    confidence: Confidence
    note: Prose = ""
    effective_on: date | None = None


class CheckIn(BaseModel):
    """A check-in as recorded: the week it reports (``effective_on``) and when it was
    recorded (``at``), by whom."""

    value: float
    confidence: float
    note: str
    effective_on: date
    at: datetime
    by: str

    @model_validator(mode="before")
    @classmethod
    def _reported_when_recorded(cls, data: Any) -> Any:
        """A document projected before check-ins carried their week: the day recorded."""
        if isinstance(data, dict) and data.get("effective_on") is None and data.get("at"):
            at = data["at"]
            moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
            return {**data, "effective_on": moment.date()}
        return data


class KeyResultScore(BaseModel):
    value: float
    final_value: float | None
    rule: str
    rule_version: int
    at: datetime


@with_definition_fields(document_field)
class _DefinitionShown(BaseModel):
    """The definition fields of a document, before the fields it adds."""


class KeyResultDefinition(_DefinitionShown):
    """A key result's definition fields, as every document that shows one carries them."""

    status: Status
    check_in_count: int


class KeyResult(Versioned, KeyResultDefinition):
    id: UUID
    objective_id: UUID
    cycle_id: UUID
    latest_check_in: CheckIn | None
    score: KeyResultScore | None
    created_at: datetime
    created_by: str


#: A list's ``owner`` filter: a user id, or ``me`` for the caller.
OwnerFilter = Annotated[
    UserId, Field(description="a user id, or `me` for the caller (the token's user)")
]


class KeyResultFilter(Request):
    """Query of ``GET /v1/key-results``; an unknown (say, misspelt) filter is an error."""

    owner: OwnerFilter | None = None
    cycle_id: UUID | None = None


class KeyResults(BaseModel):
    items: list[KeyResult]
