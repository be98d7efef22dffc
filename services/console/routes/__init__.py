"""The console's pages, one module per section (the routers ``install_console`` adds)."""

from fastapi import APIRouter

from services.console.routes import home, sign_in

ROUTERS: tuple[APIRouter, ...] = (sign_in.router, home.router)
