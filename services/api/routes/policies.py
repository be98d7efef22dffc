"""Guardrail policy versions: propose (risk officers; compiled on proposal), approve (a
different risk officer; activates it), simulate against a cycle first, read the history."""

from uuid import UUID

from fastapi import APIRouter

from projections.documents import Document
from services.api.deps import Commands, CurrentPrincipal, FreshReads, PlatformDep, written
from services.api.errors import READ_ERRORS
from services.api.schemas import (
    NewPolicy,
    Policies,
    PolicyDetail,
    Simulation,
    SimulationReport,
)

router = APIRouter(prefix="/v1/policies", tags=["guardrail policies"])


@router.post("", status_code=201, response_model=PolicyDetail, responses=written(201))
def propose_policy(body: NewPolicy, cmd: Commands) -> Document:
    """A new version of the modules and data; a Rego error answers 422 with module and line."""
    done = cmd.ledger.propose_policy(cmd.principal, body.modules, body.data, body.description)
    return cmd.settle(done).policy(done.id)


@router.get("", response_model=Policies, responses=READ_ERRORS)
def list_policies(reads: FreshReads) -> Document:
    """Every version with its proposer, approver, digest and status, oldest first."""
    return {"items": reads.policies()}


@router.get("/active", response_model=PolicyDetail, responses=READ_ERRORS)
def active_policy(reads: FreshReads) -> Document:
    return reads.active_policy()


@router.get("/{policy_id}", response_model=PolicyDetail, responses=READ_ERRORS)
def get_policy(policy_id: UUID, reads: FreshReads) -> Document:
    return reads.policy(policy_id)


@router.post("/{policy_id}/approve", response_model=PolicyDetail, responses=written())
def approve_policy(policy_id: UUID, cmd: Commands) -> Document:
    """Activate the version (four eyes: never by its proposer); the previous one retires."""
    done = cmd.ledger.approve_policy(cmd.principal, policy_id)
    return cmd.settle(done).policy(done.id)


@router.post("/{policy_id}/simulate", response_model=SimulationReport, responses=READ_ERRORS)
def simulate_policy(
    policy_id: UUID, body: Simulation, platform: PlatformDep, principal: CurrentPrincipal
) -> Document:
    """What-if: which key results of the cycle this version would newly deny or warn
    about, and which no longer, compared with the active version. Records nothing."""
    return platform.ledger.simulate_policy(principal, policy_id, body.cycle_id)
