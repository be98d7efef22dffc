"""The JSON shapes of recorded guardrail decisions (``/v1/decisions``)."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from services.api.schemas.common import Request, UserId, Violation


class GuardrailDecision(BaseModel):
    id: UUID
    position: int
    at: datetime
    actor: str
    roles: list[str]
    correlation_id: str
    action: str
    target_kind: str
    target_id: UUID | None
    outcome: Literal["allowed", "denied", "error"]
    deny: list[Violation]
    warn: list[Violation]
    policy_version: int | None
    bundle_digest: str | None
    input_digest: str
    error: str | None


class GuardrailDecisions(BaseModel):
    items: list[GuardrailDecision]


class DecisionFilter(Request):
    outcome: Literal["allowed", "denied", "error"] | None = None
    actor: UserId | None = None
    action: (
        Annotated[str, StringConstraints(max_length=100, pattern=r"^[a-z_]+\.[a-z_]+$")] | None
    ) = Field(None, description="a command, e.g. key_result.add")
    limit: int = Field(default=100, ge=1, le=1000)
