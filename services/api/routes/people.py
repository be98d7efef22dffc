"""(being built: issue 15)"""

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["people"])
