"""The Monday page: a cycle's objectives and key results, confidence trends, silence,
pending changes and the next step."""

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
