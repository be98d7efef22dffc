"""Single sign-on to the console: OpenID Connect's authorization code flow with PKCE
against the configured provider (``OKRGOV_OIDC_ISSUER``), run by authlib's Starlette
client rather than by hand. It reads the provider's discovery document, keeps the flow's
state, nonce and PKCE verifier in the (signed) session, and checks on the way back that
the state is this browser's, and the ID token's signature (the provider's JWKS), issuer,
audience, nonce and lifetime.

The claims then name the person (``OKRGOV_OIDC_USER_CLAIM``) and their roles (the active
policy's role mapping); a person the directory holds as deactivated is refused; the
directory is refreshed from the claims (name, e-mail, job role, team); and the session
keeps what later requests map to roles again (``session.session_claims``)."""

import warnings
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import structlog
from authlib.common.errors import AuthlibBaseError
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client import MismatchingStateError

# authlib turns its own deprecation warnings on for everyone ("always") and its Starlette
# client's import emits one about httpx2; it is authlib's to heed, not an operator's.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.starlette_client import OAuth, OAuthError, StarletteOAuth2App
from fastapi import APIRouter, Request
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from events.errors import InvalidValue
from infra.tokens import InvalidToken
from services.api.deps import PlatformDep
from services.application.errors import Conflict
from services.bootstrap import Platform
from services.console.session import SESSION_REASON, kept_id_token, session_claims, sign_in
from services.console.sign_in_page import HOME, SIGN_IN, back_to, page_context
from services.console.templating import flash, render

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/console", include_in_schema=False)

#: The authlib client's name (its keys in the session: ``_state_okrgov_<state>``).
CLIENT = "okrgov"
#: Where the person goes after the provider: kept in the session for the flow.
_NEXT_KEY = "sso_next"
#: What the provider's answer can fail with: its refusal or an unknown state (OAuthError),
#: a bad ID token (signature, issuer, audience, nonce, lifetime: authlib and joserfc), or
#: the provider out of reach.
_FLOW_FAILURES = (OAuthError, AuthlibBaseError, JoseError, httpx.HTTPError, ValueError)


def provider(request: Request, platform: Platform) -> StarletteOAuth2App | None:
    """The app's OpenID Connect client for the configured provider (none: single sign-on
    is off), made on first use; it reads the discovery document once and keeps it."""
    settings = platform.settings
    if not settings.oidc_issuer:
        return None
    key = (settings.oidc_issuer, settings.oidc_client_id, settings.oidc_scopes)
    made: tuple[tuple[str, ...], StarletteOAuth2App] | None = getattr(
        request.app.state, "single_sign_on", None
    )
    if made is None or made[0] != key:
        oauth = OAuth()
        client = oauth.register(
            name=CLIENT,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=f"{settings.oidc_issuer.rstrip('/')}"
            "/.well-known/openid-configuration",
            client_kwargs={
                "scope": settings.oidc_scopes,
                "code_challenge_method": "S256",
                "timeout": settings.oidc_timeout_seconds,
                # A public client (no secret) authenticates with PKCE alone.
                **({} if settings.oidc_client_secret else {"token_endpoint_auth_method": "none"}),
            },
        )
        made = (key, client)
        request.app.state.single_sign_on = made
    return made[1]


@router.get("/sign-in/sso")
async def start_single_sign_on(
    request: Request, platform: PlatformDep, next: str = HOME
) -> Response:
    """To the provider's sign-in page (a link, not a form: a form's redirect to another
    site would break the console's ``form-action 'self'`` policy)."""
    client = provider(request, platform)
    if client is None:
        return _not_configured()
    request.session[_NEXT_KEY] = back_to(next)
    callback = str(request.url_for("single_sign_on_callback"))
    try:
        response: Response = await client.authorize_redirect(request, redirect_uri=callback)
    except _FLOW_FAILURES as exc:
        return _refused(request, platform, "provider_unreachable", exc, status=502)
    return response


@router.get("/sign-in/sso/callback", name="single_sign_on_callback")
async def back_from_the_provider(request: Request, platform: PlatformDep) -> Response:
    """The provider's answer: checked, then the person signed in (or a page saying why
    not; nothing is recorded for a refused sign-in)."""
    client = provider(request, platform)
    if client is None:
        return _not_configured()
    query = request.query_params
    if query.get("error"):
        return _refused(request, platform, "provider_refused", query.get("error"), status=401)
    if not query.get("code") or not query.get("state"):
        return _refused(request, platform, "no_code", "the answer has no code or state", 400)
    try:
        token: dict[str, Any] = await client.authorize_access_token(request)
    except MismatchingStateError as exc:
        return _refused(request, platform, "unknown_state", exc, status=400)
    except _FLOW_FAILURES as exc:
        return _refused(request, platform, "token_refused", exc, status=401)
    claims = dict(token.get("userinfo") or {})
    if not claims:
        return _refused(request, platform, "no_id_token", "no ID token", status=401)
    claims = {**await _userinfo(client, token, claims), **claims}
    # Recording the sign-in (the directory, the session) writes to the store: a thread.
    return await run_in_threadpool(_sign_in, request, platform, claims, token.get("id_token"))


async def _userinfo(
    client: StarletteOAuth2App, token: dict[str, Any], claims: dict[str, Any]
) -> dict[str, Any]:
    """The provider's userinfo (claims some providers leave out of the ID token, such as
    Keycloak's roles), when it has the endpoint and names the same subject; else none."""
    try:
        metadata = await client.load_server_metadata()
        if not metadata.get("userinfo_endpoint"):
            return {}
        info = dict(await client.userinfo(token=token))
    except _FLOW_FAILURES as exc:
        log.warning("console.sso_userinfo_failed", reason=str(exc))
        return {}
    return info if info.get("sub") == claims.get("sub") else {}


def _sign_in(
    request: Request, platform: Platform, claims: dict[str, Any], id_token: object
) -> Response:
    authentication = platform.authentication
    try:
        principal = authentication.from_claims(claims)
    except InvalidToken as exc:
        return _refused(request, platform, "not_allowed", exc, status=403)
    user = principal.user
    try:
        recorded = platform.directory.refresh_from_sign_in(
            user, authentication.sign_in_details(claims)
        )
        changed = recorded.position > 0
    except (InvalidValue, Conflict) as exc:  # the claims do not fit the directory's rules
        log.warning("console.sso_directory_not_refreshed", user=user, reason=str(exc))
        changed = False
    grants, _ = authentication.grants.current()
    kept = session_claims(claims, authentication.user_claim, grants.role_claims, grants.grants)
    next_path = back_to(request.session.get(_NEXT_KEY))
    hint = kept_id_token(id_token)
    session = platform.tokens.issue(
        user,
        [role.value for role in principal.roles],
        issued_by=user,
        ttl=timedelta(hours=platform.settings.console_session_hours),
        reason=SESSION_REASON,
    ).record.token_id
    sign_in(
        request,
        "oidc",
        user=user,
        session=str(session),
        claims=kept,
        **({"id_token": hint} if hint else {}),
    )
    roles = sorted(role.value for role in principal.roles)
    log.info("console.sso_signed_in", user=user, roles=roles, directory_changed=changed)
    flash(request, f"Signed in as {platform.names.get(user, user)}.")
    return RedirectResponse(next_path, 303)


#: What a refused sign-in tells the person, by reason (the log has the detail).
_WHY = {
    "provider_unreachable": "The identity provider could not be reached; try again shortly.",
    "provider_refused": "The identity provider did not sign you in.",
    "no_code": "The identity provider's answer is incomplete; sign in again.",
    "unknown_state": "This sign-in was already used, has expired or was started in another "
    "browser; sign in again.",
    "token_refused": "The identity provider's answer could not be verified; sign in again.",
    "no_id_token": "The identity provider sent no ID token; sign in again.",
}


def _refused(
    request: Request, platform: Platform, reason: str, detail: object, status: int
) -> Response:
    """The sign-in page, saying why single sign-on did not sign the person in."""
    log.info("console.sso_refused", reason=reason, detail=str(detail))
    error = _WHY.get(reason)
    if error is None:  # not allowed: deactivated, or no usable user id
        error = f"You may not sign in: {detail}. Ask an administrator of okrgov."
    context = page_context(platform, request.session.get(_NEXT_KEY), error=error)
    return render(request, "sign_in.html", context, status=status)


def _not_configured() -> Response:
    why = quote("single sign-on is not configured here")
    return RedirectResponse(f"{SIGN_IN}?why={why}", 303)


async def end_session_url(
    request: Request, platform: Platform, identity: dict[str, Any]
) -> str | None:
    """The provider's end-session page for a single sign-on session (RP-initiated logout:
    the ID token as hint when the session kept it, the client id, and the sign-in page to
    come back to), or none when the provider offers no such page or cannot be reached."""
    client = provider(request, platform)
    if client is None:
        return None
    back = str(request.url_for("sign_in_page"))
    hint = identity.get("id_token")
    try:
        ending = await client.create_logout_url(
            post_logout_redirect_uri=back,
            id_token_hint=hint if isinstance(hint, str) else None,
            client_id=platform.settings.oidc_client_id,
        )
    except RuntimeError:  # the discovery document names no end_session_endpoint
        return None
    except _FLOW_FAILURES as exc:
        log.warning("console.sso_logout_unavailable", reason=str(exc))
        return None
    url: str = ending["url"]
    return url
