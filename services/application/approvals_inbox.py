"""The approvals inbox of one person: the change requests waiting for a decision they may
take, their own requests still waiting (which they may never decide), the others waiting
for someone else, and the policy versions waiting for a second risk officer.

Who may decide is read from the same places the commands enforce it: the active policy
version's ``change_approval.approver_roles`` (the guardrail ``approver_role``), never
the requester (``four_eyes``), never the compliance role (segregation of duties); a
policy version is approved by a risk officer other than its proposer. The inbox only
decides which buttons a page shows: the commands check again, whatever a form posts."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from events.errors import NotFound
from events.values import ChangeRequestStatus, TargetKind
from projections.documents import Document
from projections.queries import GovernanceQueries, OkrQueries
from services.application.change_diff import FieldChange, change_diff
from services.application.principals import Principal, Role


@dataclass(frozen=True)
class ChangeView:
    """A change request with its target as it is now (None: not found) and, while it is
    pending, what approving it would change (once decided, ``before`` is history: the
    target now holds the outcome, so pages show only the proposed values)."""

    request: Document
    target: Document | None
    diff: list[FieldChange]

    @property
    def target_name(self) -> str:
        if self.target is None:
            return str(self.request["target_id"])
        return str(self.target.get("title") or self.target.get("name") or self.target["id"])


@dataclass
class Inbox:
    to_decide: list[ChangeView] = field(default_factory=list)
    """Waiting for this person: they may approve or reject these."""
    yours: list[ChangeView] = field(default_factory=list)
    """This person's own requests, waiting for someone else (four eyes)."""
    others: list[ChangeView] = field(default_factory=list)
    """Waiting for someone in a role this person does not hold."""
    policies: list[Document] = field(default_factory=list)
    """Proposed policy versions (shown to risk officers), oldest first."""
    approver_roles: frozenset[str] = frozenset()
    """Who may decide change requests under the active policy version."""
    reviews_policies: bool = False
    """Whether this person reviews policy versions (a risk officer)."""


def approver_roles(policy: Mapping[str, Any] | None) -> frozenset[str]:
    """The roles the policy version lets decide change requests (none if unset: the
    guardrail fails closed the same way)."""
    data = (policy or {}).get("data") or {}
    roles = (data.get("change_approval") or {}).get("approver_roles")
    if not isinstance(roles, list):
        return frozenset()
    return frozenset(r for r in roles if isinstance(r, str))


def may_decide_change(
    principal: Principal, request: Mapping[str, Any], roles: frozenset[str]
) -> bool:
    """Whether the decision commands would let ``principal`` decide ``request``."""
    return (
        request["status"] == ChangeRequestStatus.PENDING
        and not principal.has(Role.COMPLIANCE)
        and principal.user != request["requested_by"]
        and any(role.value in roles for role in principal.roles)
    )


def may_approve_policy(principal: Principal, policy: Mapping[str, Any]) -> bool:
    """Whether ``approve_policy`` would let ``principal`` approve ``policy``."""
    return (
        policy["status"] == "proposed"
        and principal.has(Role.RISK_OFFICER)
        and not principal.has(Role.COMPLIANCE)
        and principal.user != policy["proposed_by"]
    )


def _target(okr: OkrQueries, request: Document) -> Document | None:
    kinds = {TargetKind.KEY_RESULT: "key_result", TargetKind.OBJECTIVE: "objective",
             TargetKind.CYCLE: "cycle"}  # fmt: skip
    try:
        return okr.one(kinds[request["target_kind"]], UUID(request["target_id"]))
    except (KeyError, NotFound):
        return None


def change_view(okr: OkrQueries, request: Document) -> ChangeView:
    target = _target(okr, request)
    return ChangeView(request, target, change_diff(request, target))


def inbox(principal: Principal, okr: OkrQueries, governance: GovernanceQueries) -> Inbox:
    """What is waiting for ``principal``, read from the OKR state and the governance view."""
    try:
        roles = approver_roles(governance.active_policy())
    except NotFound:
        roles = frozenset()
    found = Inbox(approver_roles=roles)
    for request in okr.change_requests([], ChangeRequestStatus.PENDING):
        item = change_view(okr, request)
        if request["requested_by"] == principal.user:
            found.yours.append(item)
        elif may_decide_change(principal, request, roles):
            found.to_decide.append(item)
        else:
            found.others.append(item)
    if principal.has(Role.RISK_OFFICER):
        found.reviews_policies = True
        found.policies = [p for p in governance.policies() if p["status"] == "proposed"]
    return found
