"""The JSON shape of every error answer."""

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    field: str | None = None
    rule: str
    message: str
    line: int | None = Field(default=None, description="the Rego line, for a policy error")


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorBody(BaseModel):
    error: ErrorInfo
