"""The approvals inbox and the change requests by status."""

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
