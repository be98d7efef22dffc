"""The JSON shapes of objectives (``/v1/objectives``): requests and documents."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from events.values import Commitment, Level
from services.api.schemas.common import (
    DescriptionChange,
    Prose,
    Reason,
    Request,
    Status,
    Title,
    TitleChange,
    UserId,
    Versioned,
)
from services.api.schemas.key_results import KeyResult, OwnerFilter


class ObjectiveDefinition(Request):
    title: Title
    owner: UserId
    level: Level
    commitment: Commitment
    description: Prose = ""
    parent_id: UUID | None = None


class NewObjective(ObjectiveDefinition):
    cycle_id: UUID


_TITLE_OR_DESCRIPTION = {"anyOf": [{"required": ["title"]}, {"required": ["description"]}]}


class ObjectiveRevision(Request, json_schema_extra=_TITLE_OR_DESCRIPTION):
    """A new title, a new description, or both (at least one)."""

    title: TitleChange = None
    description: DescriptionChange = None
    reason: Reason | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> "ObjectiveRevision":
        if self.title is None and self.description is None:
            raise ValueError("give a new title or description")
        return self


class Reowning(Request):
    owner: UserId
    reason: Reason


class Realignment(Request):
    parent_id: UUID | None = Field(description="the new parent objective; null: top level")
    reason: Reason


class ObjectiveFilter(Request):
    """Query of ``GET /v1/objectives``; an unknown (say, misspelt) filter is an error."""

    cycle_id: UUID | None = None
    owner: OwnerFilter | None = None


class ObjectiveScore(BaseModel):
    value: float
    rule: str
    rule_version: int
    at: datetime


class Objective(Versioned):
    id: UUID
    cycle_id: UUID
    title: str
    description: str
    owner: str
    level: Level
    commitment: Commitment
    parent_id: UUID | None
    status: Status
    key_result_ids: list[UUID]
    score: ObjectiveScore | None
    created_at: datetime
    created_by: str


class ObjectiveDetail(Objective):
    key_results: list[KeyResult]


class ObjectiveNode(ObjectiveDetail):
    children: list["ObjectiveNode"]


class Objectives(BaseModel):
    items: list[ObjectiveDetail]
