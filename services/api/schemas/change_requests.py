"""The JSON shapes of change requests (``/v1/change-requests``): the four kinds of request
a client may send, and the document of a request.

A request names exactly one target: ``key_result_id`` (revise or retire a key result),
``objective_id`` with ``changes`` or ``retire`` (revise or retire an objective),
``objective_id`` with ``new_key_result`` (add a key result), or ``cycle_id`` with
``new_objective`` (add an objective). The OpenAPI document shows them as ``oneOf`` these
four shapes, with the rule "either changes or retire" spelt out in each, so a client
generated from it sends nothing the server refuses for its shape."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from events.values import ChangeKind, ChangeRequestStatus, Commitment, Level, TargetKind
from services.api.schemas.common import (
    DescriptionChange,
    Reason,
    Request,
    TitleChange,
    UserChange,
    Versioned,
    not_null,
)
from services.api.schemas.key_results import KeyResultChanges, NewKeyResult
from services.api.schemas.objectives import ObjectiveDefinition

#: "Either changes or retire", as JSON Schema: what ``_changes_or_retire`` enforces.
_CHANGES_OR_RETIRE: dict[str, Any] = {
    "anyOf": [
        {
            "required": ["changes"],
            "properties": {"changes": {"minProperties": 1}, "retire": {"const": False}},
        },
        {
            "required": ["retire"],
            "properties": {"retire": {"const": True}, "changes": {"maxProperties": 0}},
        },
    ]
}


def _changes_or_retire(model: str, changes: dict[str, Any], retire: bool) -> None:
    """Refuse, naming the field ``changes``, a request that changes and retires, or
    neither."""
    if retire and changes:
        message = "a request either retires (retire: true) or changes fields, not both"
    elif not retire and not changes:
        message = "give the changes, or retire: true"
    else:
        return
    error = PydanticCustomError("changes_or_retire", message)
    details = InitErrorDetails(type=error, loc=("changes",), input=changes)
    raise ValidationError.from_exception_data(model, [details])


class ObjectiveChanges(Request):
    """The definition fields of an objective to change; a field left out keeps its value
    (``parent_id: null`` moves it to the top level)."""

    title: TitleChange = None
    description: DescriptionChange = None
    owner: UserChange = None
    level: Annotated[
        Level | None,
        AfterValidator(not_null),
        WithJsonSchema({"type": "string", "enum": [v.value for v in Level]}),
    ] = None
    commitment: Annotated[
        Commitment | None,
        AfterValidator(not_null),
        WithJsonSchema({"type": "string", "enum": [v.value for v in Commitment]}),
    ] = None
    parent_id: UUID | None = Field(default=None, description="the new parent; null: the top level")

    def given(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class _ChangesOrRetire(Request, json_schema_extra=_CHANGES_OR_RETIRE):
    """A request that changes fields of its target (``changes``) or retires it."""

    changes: Any
    retire: StrictBool = False
    reason: Reason

    @model_validator(mode="after")
    def _one_change(self) -> "_ChangesOrRetire":
        _changes_or_retire(type(self).__name__, self.changes.given(), self.retire)
        return self


class KeyResultChangeRequest(_ChangesOrRetire):
    """Revise (``changes``) or retire a key result of a locked cycle."""

    key_result_id: UUID
    changes: KeyResultChanges = Field(default_factory=KeyResultChanges)


class ObjectiveChangeRequest(_ChangesOrRetire):
    """Revise (``changes``) or retire an objective of a locked cycle."""

    objective_id: UUID
    changes: ObjectiveChanges = Field(default_factory=ObjectiveChanges)


class KeyResultAddition(Request):
    """Add a key result to an objective of a locked cycle."""

    objective_id: UUID
    new_key_result: NewKeyResult
    reason: Reason


class ObjectiveAddition(Request):
    """Add an objective to a locked cycle."""

    cycle_id: UUID
    new_objective: ObjectiveDefinition
    reason: Reason


#: The union's tags: a validation error's location does not name them (see api/errors).
UNION_TAGS = frozenset({"key_result_change", "objective_change", "key_result_addition",
                        "objective_addition"})  # fmt: skip


def _kind_of_request(body: Any) -> str | None:
    """Which shape a body means, from the one target it names (None: not exactly one)."""
    if not isinstance(body, dict):
        return None
    targets = [name for name in ("key_result_id", "objective_id", "cycle_id") if name in body]
    if len(targets) != 1:
        return None
    if targets[0] == "key_result_id":
        return "key_result_change"
    if targets[0] == "cycle_id":
        return "objective_addition"
    return "key_result_addition" if "new_key_result" in body else "objective_change"


NewChangeRequest = Annotated[
    Annotated[KeyResultChangeRequest, Tag("key_result_change")]
    | Annotated[ObjectiveChangeRequest, Tag("objective_change")]
    | Annotated[KeyResultAddition, Tag("key_result_addition")]
    | Annotated[ObjectiveAddition, Tag("objective_addition")],
    Discriminator(
        _kind_of_request,
        custom_error_type="one_target",
        custom_error_message="name exactly one target: key_result_id, objective_id or cycle_id",
    ),
]


#: The statuses ``GET /v1/change-requests?status=`` filters by.
StatusFilter = Literal["pending", "approved", "rejected"]


class ChangeRequestFilter(Request):
    """Query of ``GET /v1/change-requests``: requests about one key result, objective or
    cycle (its target), in one status."""

    key_result_id: UUID | None = None
    objective_id: UUID | None = None
    cycle_id: UUID | None = None
    status: StatusFilter | None = Field(
        default=None,
        description="pending: waiting for a decision; approved: approved (and so applied, "
        "in the same save: their status reads `applied`); rejected",
    )

    @property
    def targets(self) -> list[tuple[str, UUID]]:
        """The kinds and ids given (every filter given must hold)."""
        return [
            (kind, ident)
            for kind, ident in (
                ("key_result", self.key_result_id),
                ("objective", self.objective_id),
                ("cycle", self.cycle_id),
            )
            if ident is not None
        ]


class ChangeRequest(Versioned):
    id: UUID
    kind: ChangeKind
    target_kind: TargetKind
    target_id: UUID
    key_result_id: UUID | None = Field(description="the key result changed, if the target is one")
    objective_id: UUID | None
    cycle_id: UUID | None
    changes: dict[str, Any] = Field(
        description="fields to change (revise), or the whole definition of what is added"
    )
    retire: bool
    reason: str | None
    requested_by: str
    requested_at: datetime
    status: ChangeRequestStatus
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


class ChangeRequestNow(ChangeRequest):
    """A change request as ``/v1/change-requests`` answers it: with whether its requester
    may still act, as the directory says at the time of the answer."""

    requester_active: bool = Field(
        description="false when the requester is deactivated in the directory (a leaver): "
        "approvers see the flag; read from the directory when answered, never recorded"
    )


class ChangeRequests(BaseModel):
    items: list[ChangeRequestNow]
