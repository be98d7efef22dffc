"""The JSON shapes of planning cycles (``/v1/cycles``)."""

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field

from events.values import CycleState
from services.api.schemas.common import Reason, Request, Title, Versioned
from services.api.schemas.objectives import ObjectiveNode


class NewCycle(Request):
    """A planning cycle. Cross-field rule (checked by the domain, 422 ``invalid_value`` on
    ``ends_on``): ``ends_on`` is after ``starts_on``. The name is unique: one that another
    cycle has answers 409 ``cycle_name_taken`` naming that cycle (names compare ignoring
    case, Unicode compatibility forms (NFKC) and extra white space)."""

    name: Title
    starts_on: date
    ends_on: date


class CycleClosing(Request):
    """Why the cycle closes: required before its end date (422 ``reason_required`` on
    ``reason`` without one), recorded on the close event and shown in the audit trail."""

    reason: Reason | None = Field(
        default=None, description="why the cycle closes; required before its end date"
    )


class CycleSeal(BaseModel):
    position: int = Field(description="the store position the sealed snapshot was taken at")
    digest: str = Field(description="SHA-256 of the snapshot's canonical JSON (RFC 8785)")


class Cycle(Versioned):
    id: UUID
    name: str
    starts_on: date
    ends_on: date
    state: CycleState
    objective_ids: list[UUID]
    created_at: datetime
    created_by: str
    locked_at: datetime | None
    closed_at: datetime | None
    sealed_at: datetime | None = None
    seal: CycleSeal | None = None


class CycleTree(Cycle):
    objectives: list[ObjectiveNode] = Field(description="top-level objectives, aligned below")


class Cycles(BaseModel):
    items: list[Cycle]
