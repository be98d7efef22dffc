"""The console's pages, one module per section (the routers ``install_console`` adds)."""

from fastapi import APIRouter

from services.console.routes import (
    approvals,
    compliance,
    key_results,
    mine,
    monday,
    people,
    policies,
    quarter_end,
    sign_in,
    single_sign_on,
)

ROUTERS: tuple[APIRouter, ...] = (
    sign_in.router,
    single_sign_on.router,
    monday.router,
    mine.router,
    key_results.router,
    approvals.router,
    compliance.router,
    policies.router,
    quarter_end.router,
    people.router,
)
