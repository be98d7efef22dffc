"""The policy desk: versions, diffs, proposals, what-if, approval."""

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
