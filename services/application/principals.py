"""Who is acting, with which roles, and what each role may do.

Every authorisation is asked of the principal in one idiom, ``principal.require...``,
wherever it is checked (a command, a query, a route's dependency): each raises
``Forbidden`` with the refusal the API answers as 403. Writes go through ``require`` (the
compliance role never writes); reads through ``require_reader``, ``require_oversight`` or
``require_any`` (compliance reads)."""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from events.identity import InvalidUserId, is_canonical_user_id
from events.values import Level
from services.application.errors import Forbidden


class Role(StrEnum):
    MEMBER = "member"
    EXECUTIVE = "executive"
    RISK_OFFICER = "risk_officer"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


#: The roles that read the firm-wide record (see ``Principal.oversees``).
OVERSIGHT = (Role.COMPLIANCE, Role.EXECUTIVE, Role.RISK_OFFICER)
#: How refusals name the ``OVERSIGHT`` roles.
OVERSEERS = "compliance, executives and risk officers"


@dataclass(frozen=True)
class Principal:
    """An authenticated user (a canonical user id) and the roles its token grants."""

    user: str
    roles: frozenset[Role]
    via: str = "token"
    """How they signed in: ``token`` (okrgov's own), ``oidc`` (the identity provider's
    token or a single sign-on session, roles mapped from its claims), ``demo``."""

    def __post_init__(self) -> None:
        if not is_canonical_user_id(self.user):
            raise InvalidUserId(f"{self.user!r} is not a canonical user id")

    @classmethod
    def of(cls, user: str, roles: Iterable[str], via: str = "token") -> "Principal":
        return cls(user=user, roles=frozenset(Role(r) for r in roles), via=via)

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def oversees(self) -> bool:
        """Compliance, executives and risk officers read the firm-wide record: everyone's
        decisions, denied attempts, the audit trail. Everyone else reads their own."""
        return self.has(*OVERSIGHT)

    def require_any(self, *roles: Role, refusal: str) -> None:
        """The principal holds one of ``roles`` (compliance counts: this is no write);
        else ``Forbidden(refusal)``."""
        if not self.has(*roles):
            raise Forbidden(refusal)

    def require_reader(self) -> None:
        """Any role reads; a token without roles reads nothing."""
        self.require_any(*Role, refusal="a token without roles may not read")

    def require_oversight(self, refusal: str) -> None:
        """Only the ``OVERSIGHT`` roles read the firm-wide record; ``refusal`` says what
        of it was asked for (and by whom it is read: ``OVERSEERS``)."""
        self.require_any(*OVERSIGHT, refusal=refusal)

    def require(self, *roles: Role, to: str) -> None:
        """A write: the principal holds one of ``roles`` and not the compliance role."""
        self.require_not_compliance(to)
        if not self.has(*roles):
            wanted = " or ".join(r.value for r in roles)
            raise Forbidden(f"only {wanted} may {to}")

    def require_owner_or_executive(self, owners: Iterable[str], to: str) -> None:
        """Members act on what they own; executives on anything; nobody else writes OKRs."""
        self.require_not_compliance(to)
        if self.has(Role.EXECUTIVE):
            return
        if self.has(Role.MEMBER) and self.user in set(owners):
            return
        raise Forbidden(f"only the owner or an executive may {to}")

    def require_objective_writer(self, owner: str, level: Level | str) -> None:
        """Executives write any objective; members only objectives they own, below
        company level (the owner is a canonical user id)."""
        if self.has(Role.EXECUTIVE):
            self.require_not_compliance("write objectives")
            return
        self.require(Role.MEMBER, to="create objectives")
        if owner != self.user:
            raise Forbidden("members create objectives they own themselves")
        if Level(level) == Level.COMPANY:
            raise Forbidden("only executives write company-level objectives")

    def require_not_compliance(self, to: str) -> None:
        """Segregation of duties: whoever holds the compliance role audits and never
        writes, whatever other roles the same token carries."""
        if self.has(Role.COMPLIANCE):
            raise Forbidden(f"the compliance role reads and never writes, so it may not {to}")
