"""The compliance views: denied attempts and warnings, changes after lock, four-eyes
evidence, pay-linked and above-appetite key results, policy periods, stale check-ins."""

from datetime import UTC, datetime
from typing import Annotated, NoReturn

from fastapi import APIRouter, Depends, Path, Query
from starlette.exceptions import HTTPException

from projections.compliance import VIEWS, ComplianceViews
from projections.documents import Document
from services.api.deps import ComplianceReads
from services.api.errors import READ_ERRORS
from services.api.routes.audit import Overseer, overseer
from services.api.schemas.audit import (
    ApprovalsView,
    ChangesAfterLockView,
    OverAppetiteView,
    PayLinkedView,
    PolicyPeriodsView,
    StaleCheckInsView,
    StaleFilter,
    ViolationsView,
)

router = APIRouter(prefix="/v1/compliance", tags=["evidence"])
ViewName = Path(pattern=r"^[A-Za-z0-9_.-]{1,100}$", description="one of the views above")


def compliance_views(_overseer: Overseer, reads: ComplianceReads) -> ComplianceViews:
    """The views, for compliance, executives and risk officers, as fresh as the caller's
    last write."""
    return ComplianceViews(reads.okr.view, reads.governance.view, reads.audit)


Views = Annotated[ComplianceViews, Depends(compliance_views)]


@router.get("/violations", response_model=ViolationsView, responses=READ_ERRORS)
def violations(views: Views) -> Document:
    """Every denied attempt and every warning, by rule and by actor, with the decisions."""
    return views.violations()


@router.get("/changes-after-lock", response_model=ChangesAfterLockView, responses=READ_ERRORS)
def changes_after_lock(views: Views) -> Document:
    """Each key result change applied after lock: requester, approver, reason, before and
    after, and the decision it was approved under."""
    return views.changes_after_lock()


@router.get("/approvals", response_model=ApprovalsView, responses=READ_ERRORS)
def approvals(views: Views) -> Document:
    """Four eyes: proposer and approver of each policy activation; requester and decider
    of each change request."""
    return views.approvals()


@router.get("/pay-linked", response_model=PayLinkedView, responses=READ_ERRORS)
def pay_linked(views: Views) -> Document:
    """Key results flagged pay-linked, and every attempt the policies denied for it."""
    return views.pay_linked()


@router.get("/over-appetite", response_model=OverAppetiteView, responses=READ_ERRORS)
def over_appetite(views: Views) -> Document:
    """Key results rated above the active policy's risk appetite, and denied attempts."""
    return views.over_appetite()


@router.get("/policy-periods", response_model=PolicyPeriodsView, responses=READ_ERRORS)
def policy_periods(views: Views) -> Document:
    """Which policy version was active from when until when, with its digest."""
    return views.policy_periods()


@router.get("/stale-check-ins", response_model=StaleCheckInsView, responses=READ_ERRORS)
def stale_check_ins(views: Views, query: Annotated[StaleFilter, Query()]) -> Document:
    """Key results of active cycles with no check-in for more than seven days as of
    ``as_of`` (now when left out); never checked in counts from the lock."""
    return views.stale_check_ins(query.as_of or datetime.now(UTC))


@router.get("/{view}", response_model=None, responses=READ_ERRORS, dependencies=[Depends(overseer)])
def unknown_view(view: Annotated[str, ViewName]) -> NoReturn:
    """Any other name: 404, listing the views there are."""
    raise HTTPException(404, f"no compliance view {view!r}; the views are: {', '.join(VIEWS)}")
