"""Who is signed in to the console. The session is a signed, HttpOnly, SameSite cookie
(Starlette's ``SessionMiddleware``) holding one ``identity``: how the person signed in
(``via``) and what that sign-in needs to be checked again on every request. Nothing in it
is trusted as it stands: each request resolves it afresh, so a revoked or expired token,
or demo sign-in turned off, ends the session at once.

* ``token``: a token from ``okrgov token create``, pasted on the sign-in page; kept in
  the session and authenticated on every request exactly as the API authenticates it.
* ``demo``: one of the demo firm's people, only while ``OKRGOV_DEMO_SIGN_IN`` is on.
* ``oidc``: single sign-on with the identity provider (``routes/single_sign_on.py``): the
  claims of its ID token that okrgov reads (``session_claims``), mapped to roles again on
  every request; the ID token itself when small enough, as the hint of the provider's
  logout.
"""

import json
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog
from starlette.requests import Request

from infra.tokens import InvalidToken
from services.application.access import TokenRecord
from services.application.demo_people import BY_ID as DEMO_PEOPLE
from services.application.people import Person
from services.application.principals import Principal
from services.bootstrap import Platform

log = structlog.get_logger(__name__)

SESSION_KEY = "identity"
#: The reason a single sign-on session's record gives (``okrgov token list`` shows them).
SESSION_REASON = "console single sign-on session"
#: The session is a cookie (browsers keep at most 4 KB of one), signed and base64-encoded
#: (a third larger): what a single sign-on session keeps of the provider's answer must fit.
CLAIMS_BUDGET = 1000
ID_TOKEN_BUDGET = 1200
#: The claims a single sign-on session keeps besides the user id and the role claims.
KEPT_CLAIMS = ("name", "email")


class SignInRequired(Exception):
    """No session, or one that no longer resolves to a principal: sign in (again)."""


Resolver = Callable[[Platform, Mapping[str, Any]], Principal]


def _by_token(platform: Platform, identity: Mapping[str, Any]) -> Principal:
    try:
        return platform.authentication.bearer(str(identity.get("token", "")))
    except (InvalidToken, ValueError) as exc:
        log.info("console.session_refused", via="token", reason=str(exc))
        raise SignInRequired("the token of this session is no longer valid") from None


def _as_demo_person(platform: Platform, identity: Mapping[str, Any]) -> Principal:
    person = DEMO_PEOPLE.get(str(identity.get("user", "")))
    if not platform.settings.demo_sign_in or person is None:
        raise SignInRequired("demo sign-in is off")
    if platform.directory.is_deactivated(person.user_id):
        raise SignInRequired(f"{person.user_id} is deactivated in the directory")
    return demo_principal(person)


def _by_single_sign_on(platform: Platform, identity: Mapping[str, Any]) -> Principal:
    """A single sign-on session is on the record, server-side: its sign-in was recorded
    as a session (an okrgov token record, ``SESSION_REASON``, never handed out), which
    signing out revokes, so a copy of the cookie is worth nothing after sign-out and an
    admin can end anyone's session (``okrgov token revoke``). The cookie keeps the claims
    the provider's ID token carried (those the role mapping and the user id read); the
    roles are mapped again on every request, so a new role mapping, a group change or a
    deactivation takes effect at once."""
    claims = identity.get("claims")
    if not isinstance(claims, dict):
        raise SignInRequired("the single sign-on session holds no claims")
    record = session_record(platform, identity)
    if record is None or record.subject != identity.get("user"):
        raise SignInRequired("no such single sign-on session on record")
    if not record.live(datetime.now(UTC)):
        log.info("console.session_refused", via="oidc", reason="signed out or expired")
        raise SignInRequired("this single sign-on session was signed out or has expired")
    try:
        return platform.authentication.from_claims(claims)
    except InvalidToken as exc:
        log.info("console.session_refused", via="oidc", reason=str(exc))
        raise SignInRequired("this person may no longer sign in") from None


def session_record(platform: Platform, identity: Mapping[str, Any]) -> TokenRecord | None:
    """The record of a single sign-on session (None for a session id not on record)."""
    try:
        return platform.tokens.access_list.find(UUID(str(identity.get("session"))))
    except ValueError:
        return None


#: How each kind of sign-in is checked again on every request.
RESOLVERS: dict[str, Resolver] = {
    "token": _by_token,
    "demo": _as_demo_person,
    "oidc": _by_single_sign_on,
}


def demo_principal(person: Person) -> Principal:
    return Principal.of(person.user_id, [person.role], via="demo")


def demo_people(platform: Platform) -> list[Person]:
    """The people the sign-in page offers, when demo sign-in is on (else none)."""
    if not platform.settings.demo_sign_in:
        return []
    return sorted(DEMO_PEOPLE.values(), key=lambda p: (p.team, p.name))


def principal_of(request: Request, platform: Platform) -> Principal:
    """The signed-in principal of this request; ``SignInRequired`` when there is none."""
    identity = request.session.get(SESSION_KEY)
    if not isinstance(identity, dict):
        raise SignInRequired("not signed in")
    lasts = platform.settings.console_session_hours * 3600
    if time.time() - float(identity.get("since", 0)) > lasts:
        request.session.clear()
        raise SignInRequired("the session has expired")
    resolve = RESOLVERS.get(str(identity.get("via")))
    if resolve is None:
        raise SignInRequired("unknown sign-in")
    try:
        principal = resolve(platform, identity)
    except SignInRequired:
        request.session.clear()
        raise
    request.state.principal = principal
    return principal


def session_claims(
    claims: Mapping[str, Any],
    user_claim: str,
    role_claims: Iterable[str],
    granting: Iterable[str] = (),
) -> dict[str, Any]:
    """The provider's claims a single sign-on session keeps: the user id's, the top-level
    claims the role mapping reads (``realm_access`` for ``realm_access.roles``), the name
    and e-mail. A person of very many groups would overflow the cookie: then each role
    claim keeps only the values the role mapping names (``granting``)."""
    paths = list(role_claims)
    keys = [user_claim, *KEPT_CLAIMS, *(path.split(".", 1)[0] for path in paths)]
    kept = {key: claims[key] for key in dict.fromkeys(keys) if key in claims}
    if len(json.dumps(kept)) <= CLAIMS_BUDGET:
        return kept
    named = set(granting)
    for path in paths:
        _narrow(kept, path.split("."), named)
    return kept


def _narrow(claims: dict[str, Any], path: list[str], named: set[str]) -> None:
    """Keep, at ``path`` in ``claims``, only the texts in ``named`` (copying on the way)."""
    head, rest = path[0], path[1:]
    value = claims.get(head)
    if rest:
        if isinstance(value, Mapping):
            claims[head] = inner = dict(value)
            _narrow(inner, rest, named)
    elif isinstance(value, list):
        claims[head] = [v for v in value if isinstance(v, str) and v in named]


def kept_id_token(id_token: object) -> str | None:
    """The ID token, when it fits in the cookie (the provider's logout hint), else none:
    the logout then names the client instead."""
    if isinstance(id_token, str) and len(id_token) <= ID_TOKEN_BUDGET:
        return id_token
    return None


def sign_in(request: Request, via: str, **identity: str | dict[str, Any]) -> None:
    """Start a session (a new one: whatever the cookie held before is dropped)."""
    request.session.clear()
    request.session[SESSION_KEY] = {"via": via, "since": time.time(), **identity}
    log.info("console.signed_in", via=via, user=identity.get("user"))


def sign_out(request: Request) -> None:
    request.session.clear()
