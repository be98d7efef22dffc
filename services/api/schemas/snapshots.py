"""The JSON shapes of quarter-end snapshots: the canonical snapshot document (format
``okrgov.snapshot/2``; a seal made under ``/1`` is re-derived and verified as ``/1``), the
snapshot answer with its position and digest, and a seal's verification. Timestamps are
kept as the strings the events carry, so the document reads back exactly as it was
digested."""

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from events.values import Commitment, CycleState, Level
from services.api.schemas.common import Status
from services.api.schemas.key_results import KeyResultDefinition


class SnapshotCycle(BaseModel):
    id: UUID
    name: str
    starts_on: str
    ends_on: str
    state: CycleState
    created_at: str
    created_by: str
    locked_at: str | None
    closed_at: str | None
    sealed_at: str | None


class SnapshotCheckIn(BaseModel):
    value: float
    confidence: float
    note: str
    effective_on: str | None = Field(
        default=None,
        description="the week the check-in reports (a date); okrgov.snapshot/2 and later",
    )
    at: str
    by: str


class SnapshotKeyResultScore(BaseModel):
    value: float
    final_value: float | None
    rule: str
    rule_version: int
    at: str


class SnapshotKeyResult(KeyResultDefinition):
    id: UUID
    last_check_in: SnapshotCheckIn | None
    score: SnapshotKeyResultScore | None


class SnapshotObjectiveScore(BaseModel):
    value: float
    rule: str
    rule_version: int
    at: str


class SnapshotObjective(BaseModel):
    id: UUID
    title: str
    description: str
    owner: str
    level: Level
    commitment: Commitment
    parent_id: UUID | None
    status: Status
    score: SnapshotObjectiveScore | None
    key_results: list[SnapshotKeyResult]


class AlignmentNode(BaseModel):
    id: UUID = Field(description="an objective of the cycle")
    children: list["AlignmentNode"]


class ChangeAfterLock(BaseModel):
    """A change applied through an approved change request. A key result's revision or
    retirement names ``key_result_id`` and ``key_result_title`` (as snapshots always have);
    a change to an objective, or an addition, names ``target_kind``, ``target_id`` and
    ``title`` instead. Fields a change does not have are absent, not null: this is the
    digested document."""

    key_result_id: UUID | None = None
    key_result_title: str | None = None
    target_kind: Literal["key_result", "objective"] | None = None
    target_id: UUID | None = None
    title: str | None = None
    objective_id: UUID
    change_request_id: UUID
    kind: Literal["revise", "retire", "add_key_result", "add_objective"]
    before: dict[str, Any] | None
    after: dict[str, Any]
    reason: str | None
    requested_by: str
    requested_at: str
    approved_by: str | None
    approved_at: str | None
    applied_at: str


class SnapshotPolicy(BaseModel):
    id: UUID
    number: int
    digest: str = Field(description="SHA-256 of the active guardrail bundle")
    approved_by: str | None
    approved_at: str | None


class SnapshotCounts(BaseModel):
    objectives: int
    objectives_retired: int
    key_results: int
    key_results_retired: int
    check_ins: int
    change_requests: int
    changes_after_lock: int
    events: int = Field(description="events of this cycle's aggregates up to the position")


class SnapshotDocument(BaseModel):
    """Exactly what is digested: no store position or other backend-specific value."""

    format: Literal["okrgov.snapshot/1", "okrgov.snapshot/2"] = Field(
        description="the shape of the document: /2 adds the week each last check-in reports"
    )
    cycle: SnapshotCycle
    objectives: list[SnapshotObjective]
    alignment: list[AlignmentNode] = Field(description="objective ids nested by alignment")
    changes_after_lock: list[ChangeAfterLock]
    policy: SnapshotPolicy | None = Field(description="the guardrail version active then")
    counts: SnapshotCounts


class SnapshotAnswer(BaseModel):
    cycle_id: UUID
    position: int = Field(description="the event position the snapshot is as of (not digested)")
    digest: str = Field(
        description="SHA-256 (hex) of the snapshot's canonical JSON (RFC 8785): the bytes "
        "GET /v1/cycles/{id}/snapshot/export?format=json answers"
    )
    snapshot: SnapshotDocument


class SealVerification(BaseModel):
    cycle_id: UUID
    position: int = Field(
        description="where the sealed snapshot was re-derived in this store: the sealed "
        "position, unless this store is a copy that numbers the same events differently"
    )
    sealed_position: int = Field(description="the position the seal recorded")
    sealed_digest: str
    recomputed_digest: str = Field(description="re-derived now from the events 1..position")
    matches: bool
    snapshot_format: str
    sealed_by: str | None
