"""The console's pages, one module per section (the routers ``install_console`` adds)."""

from fastapi import APIRouter

from services.console.routes import (
    approvals,
    compliance,
    key_results,
    mine,
    monday,
    policies,
    quarter_end,
    sign_in,
)

ROUTERS: tuple[APIRouter, ...] = (
    sign_in.router,
    monday.router,
    mine.router,
    key_results.router,
    approvals.router,
    compliance.router,
    policies.router,
    quarter_end.router,
)
