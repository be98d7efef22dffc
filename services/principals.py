"""Who is acting, with which roles, and what each role may do."""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from services.errors import Forbidden


class Role(StrEnum):
    MEMBER = "member"
    EXECUTIVE = "executive"
    RISK_OFFICER = "risk_officer"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """An authenticated user and the roles its token grants."""

    user: str
    roles: frozenset[Role]

    @classmethod
    def of(cls, user: str, roles: Iterable[str]) -> "Principal":
        return cls(user=user, roles=frozenset(Role(r) for r in roles))

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def require(self, *roles: Role, to: str) -> None:
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

    def require_not_compliance(self, to: str) -> None:
        """Segregation of duties: whoever holds the compliance role audits and never
        writes, whatever other roles the same token carries."""
        if self.has(Role.COMPLIANCE):
            raise Forbidden(f"the compliance role reads and never writes, so it may not {to}")
