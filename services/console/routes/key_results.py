"""A key result's page: its whole history, the check-in form, the edit or change-request form."""

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
