"""One router per resource; the app includes them all."""

from fastapi import APIRouter

from services.api.routes import (
    change_requests,
    cycles,
    decisions,
    key_results,
    objectives,
    policies,
)

ROUTERS: tuple[APIRouter, ...] = (
    cycles.router,
    objectives.router,
    key_results.router,
    change_requests.router,
    policies.router,
    decisions.router,
)
