"""Signing in and out: a token pasted from ``okrgov token create``, or (demo sign-in on)
one of the demo firm's people. Afterwards the person goes back where they were headed:
a path of the console only, never another site."""

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from infra.tokens import InvalidToken
from services.api.deps import PlatformDep
from services.application.demo_people import BY_ID as DEMO_PEOPLE
from services.console.deps import ConsolePrincipal
from services.console.session import SESSION_KEY, demo_people, sign_in, sign_out
from services.console.templating import flash, render

router = APIRouter(prefix="/console", include_in_schema=False)

HOME = "/console"


def _back_to(next_path: str | None) -> str:
    """Where to go after signing in: a console path of this site, else the console."""
    parts = urlsplit(next_path or "")
    path = parts.path
    if not (path == HOME or path.startswith(HOME + "/")) or path.startswith("//"):
        return HOME
    return path + (f"?{parts.query}" if parts.query else "")


@router.get("/sign-in")
def sign_in_page(
    request: Request, platform: PlatformDep, next: str = HOME, why: str = ""
) -> Response:
    return render(
        request,
        "sign_in.html",
        {"people": demo_people(platform), "next": _back_to(next), "why": why, "error": None},
    )


@router.post("/sign-in")
def sign_in_with_token(
    request: Request,
    platform: PlatformDep,
    token: Annotated[str, Form(max_length=4096)] = "",
    next: Annotated[str, Form()] = HOME,
) -> Response:
    try:
        principal = platform.authentication.bearer(token.strip())
    except (InvalidToken, ValueError):
        context = {
            "people": demo_people(platform),
            "next": _back_to(next),
            "why": "",
            "error": "That token is not valid: it may have expired or been revoked. "
            "Make one with okrgov token create.",
        }
        return render(request, "sign_in.html", context, status=401)
    sign_in(request, "token", token=token.strip(), user=principal.user)
    flash(request, f"Signed in as {platform.names.get(principal.user, principal.user)}.")
    return RedirectResponse(_back_to(next), 303)


@router.post("/sign-in/demo")
def sign_in_as_demo_person(
    request: Request,
    platform: PlatformDep,
    user: Annotated[str, Form(max_length=64)],
    next: Annotated[str, Form()] = HOME,
) -> Response:
    person = DEMO_PEOPLE.get(user)
    if not platform.settings.demo_sign_in or person is None:
        context = {
            "people": demo_people(platform),
            "next": _back_to(next),
            "why": "",
            "error": "Demo sign-in is off (OKRGOV_DEMO_SIGN_IN), or no such demo person.",
        }
        return render(request, "sign_in.html", context, status=403)
    sign_in(request, "demo", user=person.user_id)
    flash(request, f"Signed in as {person.name} ({person.title}).")
    return RedirectResponse(_back_to(next), 303)


@router.get("/me")
def my_session(request: Request, principal: ConsolePrincipal, platform: PlatformDep) -> Response:
    """Who this session is, with which roles, how it signed in and until when."""
    identity = request.session[SESSION_KEY]
    since = float(identity.get("since", 0))
    lasts = platform.settings.console_session_hours * 3600
    person = platform.people.get(principal.user)
    context = {
        "person": person,
        "via": identity.get("via"),
        "since": datetime.fromtimestamp(since, UTC),
        "until": datetime.fromtimestamp(since + lasts, UTC),
        "roles": sorted(role.value for role in principal.roles),
    }
    return render(request, "me.html", context)


@router.post("/sign-out")
def sign_out_now(request: Request) -> Response:
    sign_out(request)
    return RedirectResponse("/console/sign-in", 303)
