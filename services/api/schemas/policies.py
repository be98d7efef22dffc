"""The JSON shapes of guardrail policies (``/v1/policies``): a proposal, an approval, a
what-if simulation and its report, and the policy documents with their divergence report
(does the version decide the same under regorus and OPA?) and its acknowledgement."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool, StringConstraints

from services.api.schemas.common import NO_NUL, Reason, Request, Violation
from services.api.schemas.decision_replay import ReplayedDecisions


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


class Approval(Request):
    """An approval; needed only to accept a version that diverges between engines."""

    acknowledge_divergence: StrictBool = Field(
        default=False,
        description="accept that this version decides differently under regorus and OPA on "
        "some probe inputs, or was not compared (its divergence report): required to "
        "approve such a version, and recorded with the approval",
    )
    reason: Reason | None = Field(
        default=None,
        description="why; required with acknowledge_divergence, recorded with the approval",
    )


class Replay(Request):
    """Which recorded decisions the what-if judges again under the proposal: the latest
    ``limit`` denied attempts recorded between ``since`` and ``until`` when given
    (``replayed_denials``); and, with ``decisions``, every decision of that period,
    allowed and denied (``replayed_decisions``, at most ``limit`` of those that differ
    listed)."""

    since: datetime | None = Field(
        default=None, description="decisions recorded at or after this time (UTC if no zone)"
    )
    until: datetime | None = Field(
        default=None,
        description="decisions recorded before this time (UTC if no zone), as in the audit "
        "trail's until",
    )
    limit: int = Field(
        default=20,
        ge=0,
        le=200,
        description="denied attempts replayed; differing decisions listed in replayed_decisions",
    )
    decisions: bool | None = Field(
        default=None,
        description="judge every decision recorded in the period again under the proposal "
        "(replayed_decisions); by default only when since or until is given, since without "
        "either the period is the whole store",
    )

    @property
    def judges_decisions(self) -> bool:
        if self.decisions is None:
            return self.since is not None or self.until is not None
        return self.decisions


class Simulation(Request):
    cycle_id: UUID | None = Field(
        default=None,
        description="the cycle whose live key results are judged under both versions; "
        'without it only the replays and the tests run (e.g. {"replay": {"since", '
        '"until"}}: what the version would have decided on what actually happened)',
    )
    replay: Replay = Field(default_factory=Replay)


class EngineAnswer(BaseModel):
    """What one engine answered on a probe input."""

    outcome: Literal["allowed", "denied", "error"]
    deny: list[Violation] = Field(description="the deny set, {rule, message}")
    warn: list[Violation] = Field(description="the warn set, {rule, message}")
    error: str | None = Field(description="why the evaluation failed (outcome error)")


class DivergentInput(BaseModel):
    """A probe input on which the two engines answer differently."""

    input: dict[str, Any] = Field(description="the probe input document")
    embedded: EngineAnswer = Field(description="regorus's answer (the embedded engine)")
    opa: EngineAnswer = Field(description="OPA's answer (its own Go evaluator)")
    differs_in: list[Literal["outcome", "deny", "warn"]] = Field(
        description="what differs: the outcome, the deny set, the warn set ({rule, message})"
    )


class ProbeCorpus(BaseModel):
    size: int = Field(description="probe inputs drawn (policies.probe_corpus)")
    seed: int = Field(description="the seed that draws them: the same inputs for the same data")


class DivergenceReport(BaseModel):
    """Whether the version decides the same under regorus and OPA on the probe corpus
    (inputs aimed at every field the rules read and around the version's thresholds),
    judged when it was proposed. Divergence does not refuse a proposal; approving a
    version that diverges, or was not compared, needs ``acknowledge_divergence``."""

    status: Literal["checked", "not_checked", "shipped"] = Field(
        description="checked: every probe input judged under both engines; not_checked: the "
        "engines were not compared (see reason); shipped: the bundle okrgov ships, compared "
        "by its release's tests rather than at seeding"
    )
    reason: str | None = Field(
        description="why the engines were not compared: OPA's Go evaluator unavailable, OPA "
        "refuses the version, or the comparison ran past the review budget"
    )
    engines: list[str] = Field(description="the engines compared")
    corpus: ProbeCorpus
    inputs: int = Field(description="probe inputs judged under both engines")
    differing: int = Field(description="of those, how many the engines answer differently")
    items: list[DivergentInput] = Field(description="the first differing inputs (at most 10)")


class DivergenceAcknowledgement(BaseModel):
    """The approver accepted a version that diverges between engines (or was not
    compared)."""

    by: str = Field(description="the approver")
    reason: str = Field(description="why they accepted it")
    status: Literal["checked", "not_checked", "shipped"] = Field(
        description="the divergence report's status when approved"
    )
    differing: int = Field(description="probe inputs the engines answered differently")
    inputs: int = Field(description="probe inputs judged under both engines")
    at: datetime = Field(description="when it was approved")


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
    divergence_acknowledgement: DivergenceAcknowledgement | None = Field(
        default=None,
        description="recorded with the approval of a version that diverges between engines "
        "(or was not compared); null when nothing needed acknowledging",
    )


class PolicyDetail(Policy):
    modules: dict[str, str]
    data: dict[str, Any]
    tests: dict[str, str] = Field(
        default_factory=dict,
        description="the version's own Rego tests (*_test.rego), run when it was proposed",
    )
    divergence: DivergenceReport | None = Field(
        default=None,
        description="whether it decides the same under regorus and OPA, judged when it was "
        "proposed; null for a version proposed before versions were compared (not checked)",
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
    engine: Literal["embedded", "opa"] = Field(
        description="the engine that judged both versions, the replays and the tests: the one "
        "deciding commands (OKRGOV_POLICY_ENGINE); embedded is regorus, opa is OPA's own Go "
        "evaluator in the review worker (the evaluator an OPA server runs)"
    )
    policy_id: UUID
    policy_version: int
    compared_with_version: int
    cycle_id: UUID | None = Field(description="the cycle judged, null when none was given")
    key_results_evaluated: int
    changes: list[SimulatedChange]
    proposal_tests: PolicyTestRun
    active_tests: ActiveTestRuns
    replayed_denials: ReplayedDenials
    replayed_decisions: ReplayedDecisions | None = Field(
        default=None,
        description="every decision of the replay period judged under the proposal "
        "(see replay.decisions); null when not asked for",
    )
    over_budget: list[OverBudget]
