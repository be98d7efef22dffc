"""Guardrail policy versions: propose (risk officers; checked on proposal), approve (a
different risk officer; activates it), simulate against a cycle and recent denials first,
read the history."""

from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter

from projections.documents import Document
from services.api.deps import (
    CurrentPrincipal,
    GovernanceReads,
    PlatformDep,
    PolicyCommands,
    written,
)
from services.api.errors import READ_ERRORS
from services.api.schemas.policies import (
    Approval,
    NewPolicy,
    Policies,
    PolicyDetail,
    Simulation,
    SimulationReport,
)
from services.api.schemas.policy_diff import PolicyDiff
from services.application.decision_whatif import Period
from services.reports.policy_diff import policy_diff

router = APIRouter(prefix="/v1/policies", tags=["guardrail policies"])


@router.post("", status_code=201, response_model=PolicyDetail, responses=written(201))
def propose_policy(body: NewPolicy, cmd: PolicyCommands) -> Document:
    """A new version of the modules and data, with its tests (``*_test.rego``). Checked
    before anything is recorded: a Rego error answers 422 ``policy_compile_error`` with
    module and line; a failing test of its own, a failing invariant test, a setting the
    rules read that the data lacks, or a test past the time budget answers 422
    ``policy_test_failed`` with one detail per failure. Then judged under regorus and
    OPA on the probe corpus: the answer's ``divergence`` says on how many inputs they
    differ and lists the first (a divergence is recorded, not refused; approving such a
    version needs ``acknowledge_divergence``)."""
    done = cmd.ledger.propose_policy(cmd.principal, body.modules, body.data, body.description)
    return cmd.settle(done).governance.policy(done.id)


@router.get("", response_model=Policies, responses=READ_ERRORS)
def list_policies(reads: GovernanceReads) -> Document:
    """Every version with its proposer, approver, digest and status, oldest first."""
    return {"items": reads.governance.policies()}


@router.get("/active", response_model=PolicyDetail, responses=READ_ERRORS)
def active_policy(reads: GovernanceReads) -> Document:
    return reads.governance.active_policy()


@router.get("/{policy_id}", response_model=PolicyDetail, responses=READ_ERRORS)
def get_policy(policy_id: UUID, reads: GovernanceReads) -> Document:
    return reads.governance.policy(policy_id)


@router.get("/{policy_id}/diff", response_model=PolicyDiff, responses=READ_ERRORS)
def diff_policy(policy_id: UUID, against: UUID, reads: GovernanceReads) -> Document:
    """What this version changes compared with the version ``against`` (any other, older
    or newer): per Rego module a line diff with three lines of context, and per data key
    path the value before and after. The same two versions give the same answer."""
    governance = reads.governance
    return policy_diff(governance.policy(against), governance.policy(policy_id))


@router.post("/{policy_id}/approve", response_model=PolicyDetail, responses=written())
def approve_policy(policy_id: UUID, cmd: PolicyCommands, body: Approval | None = None) -> Document:
    """Activate the version (four eyes: never by its proposer); the previous one retires.
    A version whose ``divergence`` report shows differing inputs, or says the engines
    were not compared, answers 409 ``divergence_not_acknowledged`` unless the body says
    ``{"acknowledge_divergence": true, "reason": "..."}``; the acknowledgement (who, why,
    how many inputs differ) is recorded with the approval
    (``divergence_acknowledgement``)."""
    body = body or Approval()
    done = cmd.ledger.approve_policy(
        cmd.principal,
        policy_id,
        acknowledge_divergence=body.acknowledge_divergence,
        reason=body.reason,
    )
    return cmd.settle(done).governance.policy(done.id)


@router.post("/{policy_id}/simulate", response_model=SimulationReport, responses=READ_ERRORS)
def simulate_policy(
    policy_id: UUID,
    body: Simulation,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    reads: GovernanceReads,
) -> Document:
    """What-if, compared with the active version: which key results of the cycle this
    version would newly deny or warn about, and which no longer; its own tests; the
    active version's tests under it; the latest denied attempts (``replay``) judged
    again under it; and, with ``replay.decisions`` (by default when the replay names a
    period), every decision of the period, allowed and denied, judged again under it and
    compared with what was recorded (``replayed_decisions``). Runs off the request path
    within ``OKRGOV_SIMULATE_BUDGET_SECONDS`` (503 ``simulation_timeout`` past it).
    Records nothing."""
    replay = body.replay
    since, until = _aware(replay.since), _aware(replay.until)
    denied = reads.governance.denials(since, until, replay.limit)
    period = Period(since, until) if replay.judges_decisions else None
    return platform.ledger.simulate_policy(
        principal, policy_id, body.cycle_id, denied, period, replay.limit
    )


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
