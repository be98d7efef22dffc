"""The JSON shapes of the public contract: request bodies (strict: unknown fields, numbers
sent as strings and nulls where a value is required are refused before any command runs)
and the documents the API answers with (the OKR-state view's documents, typed)."""

from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from events.identity import USER_ID_PATTERN, InvalidUserId, canonical_user_id
from events.values import Commitment, CycleState, Direction, Level

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


# ---- requests ---------------------------------------------------------------------------


class NewCycle(Request):
    """A planning cycle. Cross-field rule (checked by the domain, 422 ``invalid_value`` on
    ``ends_on``): ``ends_on`` is after ``starts_on``."""

    name: Title
    starts_on: date
    ends_on: date


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


class Retirement(Request):
    reason: Reason


class Decision(Request):
    reason: Reason | None = None


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


class ObjectiveFilter(Request):
    """Query of ``GET /v1/objectives``; an unknown (say, misspelt) filter is an error."""

    cycle_id: UUID | None = None


# ---- documents --------------------------------------------------------------------------

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


class CycleTree(Cycle):
    objectives: list[ObjectiveNode] = Field(description="top-level objectives, aligned below")


class Cycles(BaseModel):
    items: list[Cycle]


class Objectives(BaseModel):
    items: list[ObjectiveDetail]


class ProjectionHealth(BaseModel):
    position: int = Field(description="the last event position this view reflects")
    lag: int = Field(description="how many positions the view is behind the store")
    lag_seconds: float = Field(
        description="age of the oldest event the view has not applied yet (0: caught up)"
    )


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="degraded while a view lags more than OKRGOV_LAG_WARN_SECONDS"
    )
    position: int = Field(description="the last event position the OKR-state view reflects")
    recorded: int = Field(description="the last event position recorded in the store")
    projections: dict[str, ProjectionHealth] = Field(description="every read model, by name")


# ---- errors -----------------------------------------------------------------------------


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


# ---- guardrail policies -------------------------------------------------------------------


class NewPolicy(Request):
    modules: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+\.rego$")], str] = (
        Field(
            min_length=1,
            description="Rego modules by file name; those named *_test.rego are the version's "
            "tests, run on proposal (with the shipped invariant tests) and kept with it",
            # Every key must be a module's file name, as the schema now says too.
            json_schema_extra={"additionalProperties": False},
        )
    )
    data: dict[str, Any] = Field(default_factory=dict, description="the data the rules read")
    description: Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NO_NUL)]


class Replay(Request):
    """Which recorded denied attempts the what-if judges again under the proposal: the
    latest ``limit`` of them, recorded between ``since`` and ``until`` when given."""

    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=20, ge=0, le=200)


class Simulation(Request):
    cycle_id: UUID
    replay: Replay = Field(default_factory=Replay)


class Policy(BaseModel):
    id: UUID
    number: int
    description: str
    digest: str
    status: Literal["proposed", "active", "retired"]
    proposed_by: str
    proposed_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    retired_at: datetime | None
    superseded_by: int | None


class PolicyDetail(Policy):
    modules: dict[str, str]
    data: dict[str, Any]
    tests: dict[str, str] = Field(
        default_factory=dict,
        description="the version's own Rego tests (*_test.rego), run when it was proposed",
    )


class Policies(BaseModel):
    items: list[Policy]


class SimulatedChange(BaseModel):
    key_result_id: UUID
    title: str
    newly_denied: list[str]
    no_longer_denied: list[str]
    newly_warned: list[str]
    no_longer_warned: list[str]
    error: str | None = None
    """A rule failed at runtime judging this key result (the write would answer 503)."""


class PolicyTestResult(BaseModel):
    name: str
    passed: bool
    outcome: Literal["passed", "false", "undefined", "error"]
    message: str
    location: str | None


class PolicyTestRun(BaseModel):
    results: list[PolicyTestResult]
    error: str | None = None
    """The tests could not be loaded against these modules (e.g. a rule they call is gone)."""


class ActiveTestRuns(BaseModel):
    """The active version's own tests, under it and under the proposal: a test that
    passes under the first and fails under the second is a promise the proposal drops
    (often a denial it stops making)."""

    version: int
    under_active: PolicyTestRun
    under_proposal: PolicyTestRun


class ReplayedDenial(BaseModel):
    decision_id: UUID
    action: str
    actor: str
    policy_version: int | None
    denied_by: list[str]
    under_proposal: list[str]
    error: str | None


class ReplayedDenials(BaseModel):
    considered: int
    without_input: int
    """Denials recorded before decisions kept their input document: not judged again."""
    no_longer_denied: list[ReplayedDenial]
    denied_otherwise: list[ReplayedDenial]


class OverBudget(BaseModel):
    """An evaluation under the proposal longer than the decision budget: as a decision it
    would be refused with 503 ``policy_timeout``."""

    kind: Literal["key_result", "decision"]
    id: UUID
    seconds: float


class SimulationReport(BaseModel):
    policy_id: UUID
    policy_version: int
    compared_with_version: int
    cycle_id: UUID
    key_results_evaluated: int
    changes: list[SimulatedChange]
    proposal_tests: PolicyTestRun
    active_tests: ActiveTestRuns
    replayed_denials: ReplayedDenials
    over_budget: list[OverBudget]


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


# ---- access -----------------------------------------------------------------------------


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
