"""The JSON shape of ``GET /v1/decisions/{id}/replay``: one recorded decision judged
again under the version it names by each engine, and whether it stands, for a
compliance officer to show a regulator why a key result was allowed or refused."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from services.api.schemas.decision_replay import DecisionAnswer

NotJudged = Literal[
    "no_input", "engine_error", "input_mismatch", "bundle_mismatch", "no_policy_version"
]


class InputDigests(BaseModel):
    """The input document's SHA-256 (of its canonical JSON), as recorded and as the
    stored input gives it now: they differ when the input was altered after the fact."""

    recorded: str
    recomputed: str | None = Field(
        description="of the input as stored now (null: no input kept, or no longer JSON)"
    )


class EngineReplay(BaseModel):
    """One engine's answer on the recorded input under the version that decided."""

    engine: Literal["embedded", "opa"] = Field(
        description="embedded: regorus; opa: OPA's own Go evaluator (run in a review worker)"
    )
    agrees: bool = Field(description="the answer is the recorded one (outcome, deny, warn)")
    answer: DecisionAnswer = Field(description="this engine's answer now")
    differs_in: list[Literal["outcome", "deny", "warn"]] = Field(
        description="what differs from the recorded answer (empty when it agrees); the deny "
        "and warn sets compare as {rule, message} items"
    )


class DecisionStanding(BaseModel):
    """A recorded guardrail decision judged again: under the policy version it names,
    on the input it kept, by each engine asked for. Records nothing."""

    decision_id: UUID
    at: datetime = Field(description="when the decision was made (and recorded)")
    action: str = Field(description="the command judged, e.g. key_result.add")
    actor: str = Field(description="who attempted it")
    policy_version: int | None = Field(description="the version that decided")
    bundle_digest: str | None = Field(description="the digest of that version's bundle then")
    stored_bundle_digest: str | None = Field(
        description="the digest of that version's bundle as stored now (null: no such version)"
    )
    bundle_matches: bool = Field(
        description="the version's stored bundle still has the recorded digest; false: the "
        "version was altered (or is missing), and the decision is not judged again"
    )
    replayability: Literal["replayable", "no_input", "engine_error", "input_mismatch"] = Field(
        description="replayable; no_input: recorded before decisions kept their input; "
        "engine_error: the engine failed then, so there is no answer to compare with; "
        "input_mismatch: the kept input no longer has its recorded digest (altered)"
    )
    input_digest: InputDigests
    not_judged: NotJudged | None = Field(
        description="why no engine judged it again (null: they did): its replayability, "
        "bundle_mismatch (the version's bundle was altered) or no_policy_version"
    )
    recorded: DecisionAnswer = Field(description="the answer recorded at the time")
    engines: list[EngineReplay] = Field(
        description="one per engine asked for (?engine=, both by default); empty when the "
        "decision is not judged again (see not_judged): there is no trustworthy input, "
        "version or recorded answer to compare with"
    )
    stands: bool = Field(
        description="true when the decision is replayable, its version's bundle matches and "
        "every engine gives the recorded answer"
    )
