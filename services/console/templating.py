"""Rendering a console page: one Jinja2 environment (autoescaped) over the package's
templates, the context every page has (who is signed in, the CSRF token, the firm, the
messages of the last action), and the console's Content-Security-Policy on every page.

An htmx request (``HX-Request: true``) for a page that names a ``block`` gets that block
alone: the same template renders the whole page and its partial updates."""

import hashlib
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from services.api.security_headers import CONSOLE_POLICY
from services.application.principals import Principal
from services.bootstrap import Platform
from services.console.csrf import csrf_token

FLASH_KEY = "flash"

#: The console's sections, in the order of its navigation: (path, label, the paths under
#: it, for marking the section the person is in).
SECTIONS = (
    ("/console", "Monday page", ("/console/key-results",)),
    ("/console/mine", "My work", ("/console/mine", "/console/me")),
    ("/console/approvals", "Approvals", ("/console/approvals", "/console/change-requests")),
    (
        "/console/audit",
        "Compliance",
        ("/console/audit", "/console/compliance", "/console/integrity"),
    ),
    ("/console/policies", "Policy desk", ("/console/policies",)),
    ("/console/quarter-end", "Quarter end", ("/console/quarter-end",)),
    ("/console/people", "People", ("/console/people",)),
)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("services.console", "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, day=day, number=number, percent=percent)
    env.globals.update(static=static, sections=SECTIONS, in_section=in_section)
    return env


@cache
def _static_version(name: str) -> str:
    data = resources.files("services.console").joinpath("static", name).read_bytes()
    return hashlib.sha256(data).hexdigest()[:12]


def static(name: str) -> str:
    """The URL of a static file, versioned by its content (cached for a year safely)."""
    return f"/console/static/{name}?v={_static_version(name)}"


def in_section(path: str, home: str, under: tuple[str, ...]) -> bool:
    """Whether the page at ``path`` belongs to the section at ``home``."""
    return path == home or any(path == p or path.startswith(p + "/") for p in under)


def when(value: str | datetime | None) -> str:
    """An instant as people read it: ``2026-11-30 09:12 UTC``."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def day(value: str | None) -> str:
    return value[:10] if value else "—"


def number(value: float | int | None) -> str:
    """A figure without a trailing ``.0``: 13, 0.6, 1250000."""
    if value is None:
        return "—"
    return f"{value:g}" if abs(value) < 1e15 else str(value)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def is_htmx(request: Request) -> bool:
    """An htmx request for part of a page; a history restore (the back button, with
    htmx's history cache off) asks for the whole page, so it is not one."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"
    )


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A message shown once, on the next page this person sees (after a redirect)."""
    request.session.setdefault(FLASH_KEY, []).append({"kind": kind, "message": message})


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    block: str | None = None,
) -> HTMLResponse:
    """The page ``template`` (or, for an htmx request, only its ``block``)."""
    platform: Platform = request.app.state.platform
    principal: Principal | None = getattr(request.state, "principal", None)
    page = environment().get_template(template)
    values = {
        "request": request,
        "principal": principal,
        "who": lambda user: platform.names.get(user, user) if user else "—",
        "firm_name": platform.settings.firm_name,
        "csrftoken": csrf_token(request),
        "flashes": request.session.pop(FLASH_KEY, []) if "session" in request.scope else [],
        "current_path": request.url.path,
        **(context or {}),
    }
    if block is not None and is_htmx(request):
        body = "".join(page.blocks[block](page.new_context(values)))
    else:
        body = page.render(values)
    return HTMLResponse(body, status, headers={"Content-Security-Policy": CONSOLE_POLICY})
