"""(being built: issue 15)"""

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
