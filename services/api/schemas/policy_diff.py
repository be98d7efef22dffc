"""The JSON shape of the readable diff between two policy versions
(``GET /v1/policies/{id}/diff?against=OTHER``): per Rego module a line diff, per data key
path the value before and after, and the role mapping's changes in words."""

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field


class DiffSide(BaseModel):
    id: UUID
    number: int
    digest: str


class DiffLine(BaseModel):
    kind: Literal["context", "added", "removed"]
    text: str
    old_line: int | None = Field(description="its line number in the base version's module")
    new_line: int | None = Field(description="its line number in this version's module")


class DiffHunk(BaseModel):
    header: str = Field(description="as diff -u writes it: @@ -start,count +start,count @@")
    lines: list[DiffLine]


class ModuleDiff(BaseModel):
    name: str = Field(description="the Rego module (a policy module or a *_test.rego test)")
    change: Literal["added", "removed", "changed", "unchanged"]
    added: int = Field(description="lines added")
    removed: int = Field(description="lines removed")
    hunks: list[DiffHunk] = Field(description="the changes with three lines of context")


class DataChange(BaseModel):
    path: str = Field(description="the key path in the data, e.g. risk_appetite.investment")
    change: Literal["added", "removed", "changed"]
    before: str | None = Field(description="the base version's value as JSON; null if added")
    after: str | None = Field(description="this version's value as JSON; null if removed")


class IdentityChange(BaseModel):
    """A change of the role mapping (``identity`` in the data): who gains or loses a role."""

    change: Literal["grants", "no_longer_grants", "reads_claim", "no_longer_reads_claim"]
    claim_value: str | None = Field(description="the group or app role that grants (or not)")
    role: str | None = Field(description="the okrgov role gained or lost")
    claim: str | None = Field(description="the claim path now read, or no longer, for roles")
    summary: str = Field(description='in words: "okrgov-cro-office now grants risk_officer"')


class PolicyDiff(BaseModel):
    """What a version changes compared with another (``against``): per Rego module a line
    diff, and per data key path the value before and after. Deterministic."""

    base: DiffSide = Field(description="the version compared against")
    version: DiffSide = Field(description="the version whose changes these are")
    identical: bool = Field(description="no module and no data value differs")
    modules: list[ModuleDiff] = Field(description="every module of either version, by name")
    data: list[DataChange] = Field(description="the data key paths that differ, in key order")
    identity: list[IdentityChange] = Field(
        description="who gains or loses which role (the role mapping), claims first, then "
        "claim values in order"
    )
