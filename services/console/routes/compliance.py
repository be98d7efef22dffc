"""The compliance console: the audit trail, the compliance views, the integrity status."""

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
