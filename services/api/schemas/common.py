"""The shapes every resource shares: the value types of request bodies (strict: unknown
fields, numbers sent as strings and nulls where a value is required are refused before any
command runs), the base of every request, and the parts of every document (``Versioned``,
``Violation``, ``Status``)."""

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)

from events.identity import USER_ID_PATTERN, InvalidUserId, canonical_user_id
from events.values import Direction

T = TypeVar("T")

#: Bound on metric values: far beyond any business figure, small enough that scoring
#: arithmetic never overflows to infinity (which JSON cannot carry).
METRIC_BOUND = 1e15


def _encodable(text: str) -> str:
    """Refuse lone surrogates (they cannot be stored or answered as UTF-8) and U+0000 (no
    PostgreSQL text or jsonb value can hold it, so a read model could never be written)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode") from None
    if "\x00" in text:
        raise ValueError("text must not contain the NUL character (U+0000)")
    return text


def _user_id(text: str) -> str:
    """A user id in its canonical form (``events.identity``)."""
    try:
        return canonical_user_id(text)
    except InvalidUserId as exc:
        raise ValueError(str(exc)) from None


def not_null(value: T | None) -> T:
    """In a partial update, leaving a field out keeps it; null is not a value it can take."""
    if value is None:
        raise ValueError("must not be null; leave the field out to keep it")
    return value


#: Text of any kind: no NUL character (see ``_encodable``), shown in the schema too.
NO_NUL = r"^[^\x00]*$"
Title = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL), AfterValidator(_encodable)
]
UserId = Annotated[
    str,
    StringConstraints(max_length=256, pattern=USER_ID_PATTERN),
    AfterValidator(_user_id),
    Field(description="a user id; compared in its canonical form (trimmed, lower case)"),
]
Label = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL), AfterValidator(_encodable)
]
Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000, pattern=NO_NUL),
    AfterValidator(_encodable),
]
Prose = Annotated[
    str, StringConstraints(max_length=4000, pattern=NO_NUL), AfterValidator(_encodable)
]
Number = Annotated[
    float, Field(strict=True, allow_inf_nan=False, ge=-METRIC_BOUND, le=METRIC_BOUND)
]
Confidence = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=1)]


def _whole_number(value: Any) -> Any:
    """JSON Schema's integers include 3.0: take an integral float as the integer it is
    (anything else, booleans and strings included, is left to the strict check)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


RiskRating = Annotated[
    Annotated[int, Field(strict=True, ge=1, le=5)], BeforeValidator(_whole_number)
]

_NUMBER_SCHEMA = {"type": "number", "minimum": -METRIC_BOUND, "maximum": METRIC_BOUND}
_DIRECTION_SCHEMA = {"type": "string", "enum": [d.value for d in Direction]}

# Optional in a partial update, never null (the schema says so too).
TitleChange = Annotated[
    Title | None,
    AfterValidator(not_null),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 200, "pattern": NO_NUL}),
]
UserChange = Annotated[
    UserId | None,
    AfterValidator(not_null),
    WithJsonSchema({"type": "string", "maxLength": 256, "pattern": USER_ID_PATTERN}),
]
DescriptionChange = Annotated[
    Prose | None,
    AfterValidator(not_null),
    WithJsonSchema({"type": "string", "maxLength": 4000, "pattern": NO_NUL}),
]
LabelChange = Annotated[
    Label | None,
    AfterValidator(not_null),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 100, "pattern": NO_NUL}),
]
NumberChange = Annotated[Number | None, AfterValidator(not_null), WithJsonSchema(_NUMBER_SCHEMA)]
DirectionChange = Annotated[
    Direction | None, AfterValidator(not_null), WithJsonSchema(_DIRECTION_SCHEMA)
]
FlagChange = Annotated[
    StrictBool | None, AfterValidator(not_null), WithJsonSchema({"type": "boolean"})
]


class Request(BaseModel):
    """Base of every request body: a field the API does not know is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Retirement(Request):
    reason: Reason


class Decision(Request):
    reason: Reason | None = None


Status = Literal["active", "retired"]


class Violation(BaseModel):
    rule: str
    message: str


class Versioned(BaseModel):
    updated_at: datetime
    updated_by: str
    version: int
    warnings: list[Violation] = Field(
        default_factory=list,
        description="guardrail warnings about the write this answers (recorded with its "
        "decision); empty on reads",
    )
