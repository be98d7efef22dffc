"""The JSON shapes of key results (``/v1/key-results``): a new key result, a revision,
a check-in, and the key result document."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, StrictBool

from events.values import Direction
from services.api.schemas.common import (
    Confidence,
    DirectionChange,
    FlagChange,
    Label,
    LabelChange,
    Number,
    NumberChange,
    Prose,
    Reason,
    Request,
    RiskRating,
    Status,
    Title,
    TitleChange,
    UserChange,
    UserId,
    Versioned,
)


class NewKeyResult(Request):
    """A key result. Cross-field rules (checked by the domain, 422 ``not_measurable`` on
    ``target``): ``target`` differs from ``baseline``; an ``increase`` has target above
    baseline, a ``decrease`` below. The guardrails then judge the definition (422
    ``guardrail_denied`` listing each rule, e.g. ``pay_linked``, ``risk_appetite``)."""

    title: Title
    owner: UserId
    unit: Label
    baseline: Number
    target: Number
    direction: Direction
    pay_linked: StrictBool
    risk_domain: Label | None = None
    risk_rating: RiskRating | None = None
    guardrail_metric: Label | None = None


class KeyResultChanges(Request):
    """The definition fields to change; a field left out keeps its value. The definition
    they give must keep the rules of a new key result (see ``NewKeyResult``)."""

    title: TitleChange = None
    owner: UserChange = None
    unit: LabelChange = None
    baseline: NumberChange = None
    target: NumberChange = None
    direction: DirectionChange = None
    pay_linked: FlagChange = None
    risk_domain: Label | None = None
    risk_rating: RiskRating | None = None
    guardrail_metric: Label | None = None

    def given(self) -> dict[str, Any]:
        """Only the fields the client sent (null included for the nullable ones)."""
        return self.model_dump(mode="json", exclude_unset=True, exclude={"reason"})


class KeyResultRevision(KeyResultChanges):
    reason: Reason | None = None


class NewCheckIn(Request):
    value: Number
    confidence: Confidence
    note: Prose = ""


class CheckIn(BaseModel):
    value: float
    confidence: float
    note: str
    at: datetime
    by: str


class KeyResultScore(BaseModel):
    value: float
    final_value: float | None
    rule: str
    rule_version: int
    at: datetime


class KeyResultDefinition(BaseModel):
    """A key result's definition fields, as every document that shows one carries them."""

    title: str
    owner: str
    unit: str
    baseline: float
    target: float
    direction: Direction
    pay_linked: bool
    risk_domain: str | None
    risk_rating: int | None
    guardrail_metric: str | None
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
