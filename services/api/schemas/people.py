"""The JSON shapes of the people directory (``/v1/people``): a person as the directory
holds them, and one person's page with their directory history (who changed what of
them, when, from the audit trail)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.api.schemas.common import Request

_LONGEST = 256


class PeopleFilter(Request):
    """Query of ``GET /v1/people``: every filter given must hold."""

    active: bool | None = Field(
        default=None, description="true: people who may act; false: the deactivated"
    )
    team: str | None = Field(
        default=None, min_length=1, max_length=_LONGEST, description="a team, ignoring case"
    )


class PersonOut(BaseModel):
    user_id: str
    name: str = Field(description="the display name (empty: not known)")
    email: str
    job_role: str = Field(description="as the guardrails' data names job roles")
    team: str
    title: str
    groups: list[str] = Field(description="the identity provider's groups they belong to")
    active: bool = Field(description="false once deactivated: they can neither sign in nor act")
    external_id: str = Field(description="the identity provider's own id for them")


class People(BaseModel):
    items: list[PersonOut]


class DirectoryChange(BaseModel):
    """One directory event about the person, as the audit trail recorded it."""

    position: int
    at: datetime
    actor: str | None = Field(description="who made the change (user id)")
    actor_name: str | None = Field(description="their display name, from the directory now")
    action: str = Field(
        description="Person.Provisioned, Person.Updated, Person.Deactivated, "
        "Person.Reactivated, or Group.MembersChanged (added to or removed from a group)"
    )
    group: str | None = Field(description="for a group change: the group's name")
    changes: dict[str, Any] = Field(description="field -> {before, after}")
    reason: str | None


class PersonPage(PersonOut):
    history: list[DirectoryChange] = Field(description="oldest first")
