"""CSRF protection of every console form: the synchronizer-token pattern (OWASP's first
choice). Each session holds a random token; every page puts it in each form (the
``csrftoken`` field, first) and gives it to htmx (the ``x-csrftoken`` header); every
unsafe request to a console route must send it back, or it is refused with 403 before the
route runs, and nothing is done.

The token lives in the signed, HttpOnly session cookie, so another site can neither read
it nor forge a request that carries it. Its check is a dependency of every console route
(``install_console`` adds it), after Starlette has parsed the form: urlencoded and
multipart alike (asgi-csrf, tried first, fails on every multipart form with the
python-multipart releases that carry the recent security fixes: asgi-csrf issue 38)."""

import secrets

from starlette.datastructures import UploadFile
from starlette.requests import Request

FIELD = "csrftoken"
HEADER = "x-csrftoken"
_SESSION_KEY = "csrf"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfRefused(Exception):
    """An unsafe request without this session's token."""


def csrf_token(request: Request) -> str:
    """This session's token (made on first use: a session exists from the first page)."""
    token = request.session.get(_SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[_SESSION_KEY] = token
    return token


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe request that does not carry this session's token."""
    if request.method in _SAFE:
        return
    expected = request.session.get(_SESSION_KEY)
    sent = request.headers.get(HEADER)
    if sent is None and _is_form(request):
        value = (await request.form()).get(FIELD)
        sent = None if isinstance(value, UploadFile) else value
    if not isinstance(expected, str) or not sent or not secrets.compare_digest(sent, expected):
        raise CsrfRefused("the form's security token is missing or not this session's")


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind in ("application/x-www-form-urlencoded", "multipart/form-data")
