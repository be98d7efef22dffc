"""One router per resource; the app includes them all."""

from fastapi import APIRouter

from services.api.routes import (
    audit,
    change_requests,
    compliance,
    cycles,
    decisions,
    integrity,
    key_result_history,
    key_results,
    objectives,
    people,
    policies,
    snapshots,
    tokens,
)

ROUTERS: tuple[APIRouter, ...] = (
    cycles.router,
    objectives.router,
    key_results.router,
    change_requests.router,
    policies.router,
    decisions.router,
    audit.router,
    compliance.router,
    snapshots.router,
    integrity.router,
    tokens.router,
    key_result_history.router,
    people.router,
)
