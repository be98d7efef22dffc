"""The JSON shapes of a key result's history (``/v1/key-results/{id}/check-ins`` and
``/history``): every check-in in order, and every event about the key result, its change
requests and the guardrail decisions about them, in store order."""

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from services.api.schemas.change_requests import ChangeRequest
from services.api.schemas.key_results import CheckIn, KeyResult


class RecordedCheckIn(CheckIn):
    """A check-in, at its place in the store (``position``)."""

    position: int


class CheckIns(BaseModel):
    items: list[RecordedCheckIn] = Field(description="every check-in, oldest first")


class Rule(BaseModel):
    rule: str
    message: str


class HistoryDecision(BaseModel):
    """The guardrail decision of an item: its outcome and policy version always; the
    command, rules and warnings only for oversight and for the decision's own actor
    (null otherwise), as ``GET /v1/decisions`` shows them."""

    id: UUID
    outcome: str | None
    policy_version: int | None
    policy_digest: str | None
    actor: str | None
    action: str | None
    deny: list[Rule] | None
    warn: list[Rule] | None
    error: str | None


class Change(BaseModel):
    before: Any
    after: Any


class HistoryItem(BaseModel):
    """One event in the key result's history: what (``kind``, ``action``), to which
    aggregate (``subject_id``: the key result, a change request, a decision), who, when,
    why, each field's value before and after, the week a check-in reports, the change
    request it applied, and the decision that let it through (or refused it)."""

    position: int
    at: datetime
    kind: Literal[
        "added", "check_in", "revision", "retirement", "change_request", "decision", "event"
    ]
    action: str
    subject_id: UUID
    actor: str | None
    reason: str | None
    changes: dict[str, Change]
    effective_on: date | None
    change_request_id: UUID | None
    decision: HistoryDecision | None


class KeyResultHistory(BaseModel):
    key_result: KeyResult
    change_requests: list[ChangeRequest] = Field(description="the requests about it, oldest first")
    items: list[HistoryItem] = Field(description="every event about it, in store order")
