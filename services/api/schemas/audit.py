"""The JSON shapes of the audit trail (``GET /v1/audit``) and of the compliance views
(``GET /v1/compliance/{view}``): their query parameters and the documents they answer.

Over 300 lines: the compliance views are read from the audit trail's entries, so their
shapes and the entry's are kept in one module, where a change to an entry shows in both."""

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from infra.persistence import MAX_POSITION
from projections.entries import parse_timestamp
from services.api.schemas.common import Request, UserId, Violation
from services.api.schemas.policies import DivergenceAcknowledgement


def _timestamp(value: Any) -> Any:
    return parse_timestamp(value) if isinstance(value, str) else value


Timestamp = Annotated[
    datetime,
    BeforeValidator(_timestamp),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
#: A time as the audit trail stores it: UTC, microseconds, ``Z`` (the same text in every
#: format).
Instant = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
#: A name to filter by: no NUL, which PostgreSQL text cannot hold (it would be a 500 there).
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
Outcome = Literal["allowed", "denied", "error"]


# ---- the audit trail ----------------------------------------------------------------------


class AuditFilter(Request):
    """Query of ``GET /v1/audit``: every filter given must hold."""

    aggregate_id: UUID | None = Field(None, description="one cycle, objective, key result...")
    objective_id: UUID | None = Field(
        None, description="an objective with its key results, check-ins and change requests"
    )
    actor: UserId | None = Field(None, description="one person's entries (any spelling of the id)")
    type: Name | None = Field(None, description="an event type, e.g. KeyResult.Revised")
    since: Timestamp | None = Field(None, description="ISO 8601; entries at or after it")
    until: Timestamp | None = Field(None, description="ISO 8601; entries before it")
    cursor: int = Field(
        0, ge=0, le=MAX_POSITION, description="the last position seen; 0 from the start"
    )
    limit: int | None = Field(
        None, ge=1, le=1000, description="entries per page (json: 100 when left out); "
        "csv and jsonl stream every entry unless a limit is given",
    )  # fmt: skip
    format: Literal["json", "csv", "jsonl"] = "json"

    @field_validator("until")
    @classmethod
    def _after_since(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if until is not None and since is not None and until <= since:
            raise ValueError("until must be later than since")
        return until


class AuditFieldChange(BaseModel):
    before: Any
    after: Any


class AuditEntry(BaseModel):
    """One event: who did what to which aggregate, when, why, under which decision."""

    position: int
    at: Instant
    actor: str | None
    action: str = Field(description="the event type, e.g. KeyResult.Revised")
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int | None
    objective_id: str | None
    changes: dict[str, AuditFieldChange]
    reason: str | None
    correlation_id: str | None
    decision_id: str | None
    decision_outcome: Outcome | None
    policy_version: int | None
    policy_digest: str | None
    details: dict[str, Any]
    effective_on: date | None = Field(None, description="a check-in's week; `at`: recorded")


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: int | None = Field(description="pass as cursor for the next page; null: done")


# ---- compliance views ---------------------------------------------------------------------


class StaleFilter(Request):
    as_of: Timestamp | None = Field(None, description="ISO 8601; now when left out")


class FlaggedDecision(BaseModel):
    """A decision that denied a command or warned about it."""

    decision_id: str
    position: int
    at: datetime
    actor: str | None
    roles: list[str]
    command: str = Field(description="the attempted command, e.g. key_result.add")
    target_kind: str
    target_id: str | None
    objective_id: str | None
    outcome: Outcome
    deny: list[Violation]
    warn: list[Violation]
    policy_version: int | None
    policy_digest: str | None
    correlation_id: str | None


class RuleTally(BaseModel):
    rule: str
    denied: int
    warned: int
    actors: list[str]


class ActorTally(BaseModel):
    actor: str | None
    denied: int
    warned: int
    rules: dict[str, int]


class ViolationsView(BaseModel):
    view: Literal["violations"]
    denied: int
    warned: int
    by_rule: list[RuleTally]
    by_actor: list[ActorTally]
    items: list[FlaggedDecision]


class PolicyDecisionRef(BaseModel):
    decision_id: str | None
    decision_outcome: Outcome | None
    policy_version: int | None
    policy_digest: str | None


class ComplianceChangeAfterLock(PolicyDecisionRef):
    change_request_id: str
    kind: Literal["revise", "retire", "add_key_result", "add_objective"]
    target_kind: Literal["key_result", "objective", "cycle"]
    target_id: str
    key_result_id: str | None = Field(description="the key result changed or added, if any")
    key_result_title: str | None
    title: str | None = Field(description="the title of the key result or objective changed")
    objective_id: str | None
    cycle_id: str | None
    requested_by: str
    requested_at: datetime
    reason: str | None
    approved_by: str | None
    approved_at: datetime | None
    approval_reason: str | None
    retire: bool
    changes: dict[str, AuditFieldChange]
    applied_at: datetime | None
    position: int | None


class ChangesAfterLockView(BaseModel):
    view: Literal["changes-after-lock"]
    items: list[ComplianceChangeAfterLock]


class PolicyApproval(BaseModel):
    policy_id: str
    number: int
    digest: str
    proposed_by: str
    proposed_at: datetime
    approved_by: str
    approved_at: datetime
    four_eyes: bool = Field(description="approved by someone other than its proposer")
    seeded: bool = Field(description="the bundle shipped with okrgov, recorded at start-up")
    divergence_acknowledgement: DivergenceAcknowledgement | None = None  # described there


class ChangeRequestApproval(BaseModel):
    change_request_id: str
    kind: Literal["revise", "retire", "add_key_result", "add_objective"]
    target_kind: Literal["key_result", "objective", "cycle"]
    target_id: str
    key_result_id: str | None
    requested_by: str
    requested_at: datetime
    status: str
    decision: Literal["approved", "rejected"] | None
    decided_by: str | None
    decided_at: datetime | None
    four_eyes: bool | None = Field(description="decided by someone other than its requester")


class ApprovalsView(BaseModel):
    view: Literal["approvals"]
    breaches: int = Field(description="activations and decisions without four eyes")
    policy_activations: list[PolicyApproval]
    change_requests: list[ChangeRequestApproval]


class DeniedAttempt(BaseModel):
    decision_id: str
    position: int
    at: datetime
    actor: str
    command: str
    target_kind: str
    target_id: str | None
    policy_version: int | None
    messages: list[str]


class FlaggedKeyResult(BaseModel):
    key_result_id: str
    title: str
    owner: str
    objective_id: str
    cycle_id: str
    status: str
    pay_linked: bool
    risk_domain: str | None
    risk_rating: int | None
    appetite: int | float | None = Field(
        description="the active policy's appetite for its risk domain; null: none set"
    )


class PayLinkedView(BaseModel):
    view: Literal["pay-linked"]
    key_results: list[FlaggedKeyResult]
    denied_attempts: list[DeniedAttempt]


class OverAppetiteView(BaseModel):
    view: Literal["over-appetite"]
    policy_version: int | None
    risk_appetite: dict[str, Any]
    key_results: list[FlaggedKeyResult]
    denied_attempts: list[DeniedAttempt]


class PolicyPeriod(BaseModel):
    policy_id: str
    number: int
    digest: str
    description: str
    approved_by: str | None
    active_from: datetime
    active_until: datetime | None = Field(description="null: active now")
    from_position: int | None
    until_position: int | None
    superseded_by: int | None


class PolicyPeriodsView(BaseModel):
    view: Literal["policy-periods"]
    items: list[PolicyPeriod]


class StaleKeyResult(BaseModel):
    key_result_id: str
    title: str
    owner: str
    objective_id: str
    cycle_id: str
    cycle_name: str
    last_check_in_at: datetime | None
    silent_since: datetime
    days_silent: float
    never_checked_in: bool


class StaleCheckInsView(BaseModel):
    view: Literal["stale-check-ins"]
    as_of: datetime
    threshold_days: int
    cycles: list[str] = Field(description="the ids of the cycles active (locked) as of then")
    items: list[StaleKeyResult]
