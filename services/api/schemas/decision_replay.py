"""The JSON shapes of the what-if's ``replayed_decisions`` (``POST /v1/policies/{id}/
simulate``): every recorded decision of a period judged again under a proposed version,
and each that it would decide differently, with both answers."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from services.api.schemas.common import Violation


class DecisionAnswer(BaseModel):
    """What the guardrails answered: recorded at the time, or under the proposal."""

    outcome: Literal["allowed", "denied", "error"]
    deny: list[Violation]
    warn: list[Violation]
    error: str | None = Field(description="why the evaluation failed (outcome error)")


class OutcomeChange(BaseModel):
    recorded: Literal["allowed", "denied", "error"]
    proposed: Literal["allowed", "denied", "error"]


class SetChange(BaseModel):
    """The {rule, message} items of a deny or warn set only in one of the two answers."""

    only_recorded: list[Violation] = Field(description="recorded, and not under the proposal")
    only_proposed: list[Violation] = Field(description="under the proposal, and not recorded")


class ReplayedDecision(BaseModel):
    """A recorded decision the proposal would have decided differently."""

    decision_id: UUID
    position: int = Field(description="the decision's position in the event store")
    at: datetime = Field(description="when the decision was recorded")
    action: str
    actor: str
    policy_version: int | None = Field(description="the version that made the decision")
    recorded: DecisionAnswer
    proposed: DecisionAnswer
    differs_in: list[Literal["outcome", "deny", "warn"]] = Field(
        description="what differs: the outcome, the deny set, the warn set ({rule, message})"
    )
    outcome: OutcomeChange
    deny: SetChange
    warn: SetChange
    error: str | None = Field(description="the proposal's evaluation failed with this")


class ReplayedDecisions(BaseModel):
    """Every decision of the period (allowed and denied) judged again under the proposal
    and compared with what was recorded: what this version would have decided on what
    actually happened."""

    since: datetime | None
    until: datetime | None
    considered: int = Field(description="decisions recorded in the period")
    replayed: int = Field(description="judged again under the proposal")
    unchanged: int = Field(description="the proposal gives the recorded answer")
    differing: int = Field(description="the proposal's answer differs (outcome, deny or warn)")
    not_replayable: int = Field(
        description="not judged again: an engine error at the time, no input kept, or an "
        "input that no longer matches its recorded digest"
    )
    not_replayable_by_reason: dict[str, int] = Field(
        description="engine_error, no_input, input_mismatch"
    )
    items: list[ReplayedDecision] = Field(description="the first differing ones, store order")
    left_out: int = Field(description="differing decisions not listed (past replay.limit)")
