"""Who presents a credential: okrgov's own tokens (``access``), the identity provider's
JWTs (``infra.provider_tokens``) and single sign-on sessions, each resolved to one
``Principal``. A provider's claims grant the roles the active guardrail bundle's role
mapping says (``policies.role_grants``); a person the directory holds as deactivated is
refused whatever they present.

Which verifier a bearer token goes to is chosen by the issuer it claims (``iss``):
okrgov's own, or (when single sign-on is configured) the provider's, which then checks
every claim itself."""

import threading
from collections.abc import Mapping
from typing import Any

import structlog

from events.identity import SYSTEM, InvalidUserId, canonical_user_id
from events.policy import PolicyVersion
from infra.provider_tokens import ProviderTokens, issuer_of
from infra.tokens import InvalidToken
from policies.role_grants import InvalidRoleGrants, RoleGrants, role_grants
from services.application.access import AccessControl
from services.application.directory import Directory
from services.application.guard import bundle_of
from services.application.ledger_base import LedgerBase
from services.application.principals import Principal, Role

log = structlog.get_logger(__name__)

#: What a sign-in's claims refresh in the directory: directory field -> the claims read,
#: first present wins (standard OIDC claims, then the names providers commonly use).
SIGN_IN_CLAIMS: Mapping[str, tuple[str, ...]] = {
    "name": ("name", "preferred_username"),
    "email": ("email",),
    "job_role": ("job_role", "jobTitle", "job_title"),
    "team": ("department", "team"),
}


class ActiveRoleGrants:
    """The role mapping of the active policy version, read again when another version
    becomes active (any process's approval)."""

    def __init__(self, ledger: LedgerBase) -> None:
        self._ledger = ledger
        self._cached: tuple[object, RoleGrants, int | None] | None = None
        self._lock = threading.Lock()

    def current(self) -> tuple[RoleGrants, int | None]:
        """The mapping and the number of the policy version it is from."""
        registry = self._ledger.registry()
        key = (registry.active_id, registry.active_digest)
        cached = self._cached
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        with self._lock:
            grants = RoleGrants()
            if registry.active_id is not None:
                version = self._ledger.load(PolicyVersion, registry.active_id, to_change=False)
                try:
                    grants = role_grants(bundle_of(version).data, [r.value for r in Role])
                except InvalidRoleGrants as exc:  # proposals are checked: never expected
                    log.error("identity.role_grants_invalid", reason=str(exc))
            self._cached = (key, grants, registry.active_number)
            return grants, registry.active_number


class Authentication:
    """Resolves a credential to a principal, or raises ``InvalidToken`` saying why (for
    the log: callers answer 401 without the reason)."""

    def __init__(
        self,
        tokens: AccessControl,
        directory: Directory,
        grants: ActiveRoleGrants,
        provider: ProviderTokens | None = None,
        user_claim: str = "sub",
    ) -> None:
        self.tokens = tokens
        self.directory = directory
        self.grants = grants
        self.provider = provider
        self.user_claim = user_claim

    def by_provider(self, text: str) -> bool:
        """Whether the provider's verifier takes this bearer token (it claims an issuer
        other than okrgov and single sign-on is configured). Verifying one may read the
        provider's keys over HTTP (a rotation, at most every ``refresh_seconds``), so a
        caller on an event loop runs ``bearer`` in a thread for these."""
        return self.provider is not None and issuer_of(text) not in (None, SYSTEM)

    def bearer(self, text: str) -> Principal:
        """The principal of a bearer token: okrgov's own or the provider's."""
        if self.by_provider(text):
            return self.provider_principal(text)
        return self.okrgov_principal(text)

    def provider_principal(self, text: str) -> Principal:
        """The principal of a token ``by_provider`` gave to the provider's verifier."""
        if self.provider is None:
            raise InvalidToken("single sign-on is not configured: no provider's token is taken")
        return self.from_claims(self.provider.verify(text))

    def okrgov_principal(self, text: str) -> Principal:
        """The principal of okrgov's own token, its person not deactivated."""
        principal = self.tokens.authenticate(text)
        self.require_active(principal.user)
        return principal

    def user_of(self, claims: Mapping[str, Any]) -> str:
        """The user id the provider's claims name (``user_claim``), canonical."""
        value = claims.get(self.user_claim)
        if not isinstance(value, str):
            raise InvalidToken(f"the token has no {self.user_claim!r} claim to name the user")
        try:
            return canonical_user_id(value)
        except InvalidUserId as exc:
            raise InvalidToken(f"claim {self.user_claim!r} is no user id: {exc}") from None

    def from_claims(self, claims: Mapping[str, Any]) -> Principal:
        """The principal of verified provider claims: the user they name, with the roles
        the active role mapping grants for their claims and directory groups."""
        user = self.user_of(claims)
        self.require_active(user)
        grants, _ = self.grants.current()
        return Principal.of(user, grants.roles_for(claims, self.groups_of(user)), via="oidc")

    def groups_of(self, user: str) -> list[str]:
        """The names of the directory's groups ``user`` is a member of: a membership
        counts whether or not the person was provisioned first (SCIM may send the group
        before the user)."""
        return list(self.directory.groups_of(user))

    def require_active(self, user: str) -> None:
        if self.directory.is_deactivated(user):
            raise InvalidToken(f"{user} is deactivated in the directory")

    def sign_in_details(self, claims: Mapping[str, Any]) -> dict[str, str]:
        """What the claims say of the person, for the directory (``SIGN_IN_CLAIMS``)."""
        details: dict[str, str] = {}
        for field, names in SIGN_IN_CLAIMS.items():
            value = next((claims[n] for n in names if isinstance(claims.get(n), str)), "")
            if value:
                details[field] = value
        return details
