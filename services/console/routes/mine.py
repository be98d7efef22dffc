"""My work: the signed-in person's key results and objectives."""

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
