"""The JSON shapes of bearer tokens on the record (``/v1/tokens``)."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from services.api.schemas.common import Reason, Request, UserId


class TokenFilter(Request):
    """Query of ``GET /v1/tokens``."""

    user: UserId | None = None


class Revocation(Request):
    reason: Reason


class TokenRecordOut(BaseModel):
    """A token as the record holds it (never its text)."""

    id: UUID
    subject: str
    roles: list[str]
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    reason: str | None
    position: int
    revoked_by: str | None
    revoked_at: datetime | None
    revocation_reason: str | None


class TokenRecords(BaseModel):
    items: list[TokenRecordOut]
