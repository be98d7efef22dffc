"""Signing in and out: a token pasted from ``okrgov token create``, (demo sign-in on)
one of the demo firm's people, or single sign-on (``single_sign_on.py``). Afterwards the
person goes back where they were headed: a path of the console only, never another site.
Signing out of a single sign-on session also ends the provider's session when the provider
offers RP-initiated logout."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from infra.tokens import InvalidToken
from services.api.deps import PlatformDep
from services.application.demo_people import BY_ID as DEMO_PEOPLE
from services.bootstrap import Platform
from services.console.deps import ConsolePrincipal
from services.console.routes.single_sign_on import end_session_url
from services.console.session import SESSION_KEY, session_record, sign_in, sign_out
from services.console.sign_in_page import ENDING_KEY, HOME, SIGN_IN, back_to, page_context
from services.console.templating import flash, render

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/sign-in")
def sign_in_page(
    request: Request, platform: PlatformDep, next: str = HOME, why: str = ""
) -> Response:
    """The ways to sign in. Right after a single sign-on session was signed out, the
    page goes on to the provider's end-session page at once (a ``Refresh``: the sign-out
    form's own redirect could not leave the site, by the ``form-action 'self'`` policy),
    with a link to it should the browser not follow."""
    ending = request.session.pop(ENDING_KEY, None)
    ending = ending if isinstance(ending, str) else None
    response = render(request, "sign_in.html", page_context(platform, next, why, None, ending))
    if ending:
        response.headers["Refresh"] = f"0; url={ending}"
    return response


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
        error = (
            "That token is not valid: it may have expired or been revoked. "
            "Make one with okrgov token create."
        )
        return render(
            request, "sign_in.html", page_context(platform, next, error=error), status=401
        )
    sign_in(request, "token", token=token.strip(), user=principal.user)
    flash(request, f"Signed in as {platform.names.get(principal.user, principal.user)}.")
    return RedirectResponse(back_to(next), 303)


@router.post("/sign-in/demo")
def sign_in_as_demo_person(
    request: Request,
    platform: PlatformDep,
    user: Annotated[str, Form(max_length=64)],
    next: Annotated[str, Form()] = HOME,
) -> Response:
    person = DEMO_PEOPLE.get(user)
    if not platform.settings.demo_sign_in or person is None:
        error = "Demo sign-in is off (OKRGOV_DEMO_SIGN_IN), or no such demo person."
        return render(
            request, "sign_in.html", page_context(platform, next, error=error), status=403
        )
    sign_in(request, "demo", user=person.user_id)
    flash(request, f"Signed in as {person.name} ({person.title}).")
    return RedirectResponse(back_to(next), 303)


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


def _end_recorded_session(platform: Platform, identity: dict[str, Any]) -> None:
    """Revoke a single sign-on session's record: a copy of its cookie signs nobody in."""
    record = session_record(platform, identity)
    if record is None or record.revoked_by is not None:
        return
    platform.tokens.revoke(record.token_id, "signed out", revoked_by=record.subject)


@router.post("/sign-out")
async def sign_out_now(request: Request, platform: PlatformDep) -> Response:
    """End the session; after a single sign-on session, the sign-in page goes on to the
    provider's end-session page (when it has one), which sends the person back."""
    identity = request.session.get(SESSION_KEY)
    sign_out(request)
    if isinstance(identity, dict) and identity.get("via") == "oidc":
        await run_in_threadpool(_end_recorded_session, platform, identity)
    if isinstance(identity, dict) and identity.get("via") == "oidc":
        ending = await end_session_url(request, platform, identity)
        if ending is not None:
            request.session[ENDING_KEY] = ending
    return RedirectResponse(SIGN_IN, 303)
