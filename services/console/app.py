"""Mounting the console on the API's app: its pages, its static files, the session
cookie, CSRF protection on every form, and errors shown as pages.

* The session is Starlette's ``SessionMiddleware``: a cookie signed with the platform's
  ``console_key``, ``HttpOnly``, ``SameSite=Lax``, ``Secure`` when
  ``OKRGOV_CONSOLE_SECURE_COOKIES`` is on, limited to ``/console``.
* CSRF: every unsafe request to a console route must carry its session's token
  (``services.console.csrf``: the ``csrftoken`` form field or the ``x-csrftoken`` header,
  which the pages give htmx). The API is not concerned: it reads bearer tokens only,
  never cookies.
* A refusal on a console page (the API's ``Problem``: 403, 404, 409, 422...) is a page
  saying what was refused and why; no session sends the person to sign in."""

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from services.api.errors import noted_problem
from services.bootstrap import Platform
from services.console.csrf import CsrfRefused, verify_csrf
from services.console.session import SignInRequired
from services.console.templating import is_htmx, render

PREFIX = "/console"
SIGN_IN = f"{PREFIX}/sign-in"
SESSION_COOKIE = "okrgov_session"

Handler = Callable[[Request, Exception], Awaitable[Response]]


def install_console(app: FastAPI, platform: Platform) -> None:
    """Add the console to ``app``. Call before the outer middleware (request context,
    security headers) is added, so that they wrap the console's answers too."""
    settings = platform.settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=platform.console_key.hex(),
        session_cookie=SESSION_COOKIE,
        max_age=int(settings.console_session_hours * 3600),
        path=PREFIX,
        same_site="lax",
        https_only=settings.console_secure_cookies,
    )
    app.mount(
        f"{PREFIX}/static",
        StaticFiles(packages=[("services.console", "static")]),
        name="console-static",
    )
    # Imported here: the pages import the API's dependencies (``services.api.deps``), and
    # the API's package imports this module, so a page imported first must find it whole.
    from services.console.routes import ROUTERS

    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(verify_csrf)])
    app.add_api_route("/", _to_console, methods=["GET"], include_in_schema=False)
    _pages_for_errors(app)


def _in_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


async def _to_console() -> RedirectResponse:
    return RedirectResponse(PREFIX, 303)


def _pages_for_errors(app: FastAPI) -> None:
    """Each error handler the API installed answers console paths with a page instead."""
    for kind, api_handler in list(app.exception_handlers.items()):
        if isinstance(kind, type):
            app.add_exception_handler(kind, _page_or(api_handler))
    app.add_exception_handler(SignInRequired, _sign_in_first)
    app.add_exception_handler(CsrfRefused, _csrf_refused)


def _page_or(api_handler: Any) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if not _in_console(request.url.path):
            response: Response = await api_handler(request, exc)
            return response
        answer = noted_problem(request, exc)
        return render(
            request, "error.html", {"problem": answer}, status=answer.status, block="content"
        )

    return handle


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    """To the sign-in page, and back here afterwards (htmx: the whole page goes)."""
    back = request.url.path if request.method == "GET" else request.headers.get("HX-Current-URL")
    target = f"{SIGN_IN}?next={quote(back or PREFIX)}&why={quote(str(exc))}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, 303)


async def _csrf_refused(request: Request, _exc: Exception) -> Response:
    """The form's token is missing or stale: a page saying so (no detail of the check)."""
    return render(request, "csrf_failed.html", status=403)
