"""Quarter end: the snapshot as of a position or date, verify, the board pack as HTML and PDF."""

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
