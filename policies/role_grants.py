"""Which okrgov roles a person's identity-provider claims grant: data of the guardrail
bundle (``identity`` in ``data.json``), so that changing who counts as an executive or a
risk officer is a policy version like any other (proposed, what-if'd, approved by a second
risk officer, recorded).

    "identity": {
      "role_claims": ["roles", "groups"],          # claim paths read, dotted for nesting
      "role_grants": {"okrgov-executives": ["executive"], ...}
    }

A claim path is dotted for nested claims (Keycloak's ``realm_access.roles``); each claim
may hold one text or a list of texts. A value no grant names grants nothing. Group
memberships the directory keeps (SCIM) count as values of the ``groups`` claim."""

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class InvalidRoleGrants(ValueError):
    """The bundle's ``identity`` data is not a role mapping; says where and why."""


@dataclass(frozen=True)
class RoleGrants:
    """The mapping of one policy version."""

    role_claims: tuple[str, ...] = ()
    grants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def values(self, claims: Mapping[str, Any], groups: Iterable[str] = ()) -> list[str]:
        """Every text the claims (and the directory's groups) hold at the mapped paths."""
        found: set[str] = set(groups) if "groups" in self.role_claims else set()
        for path in self.role_claims:
            found.update(_texts(_at(claims, path)))
        return sorted(found)

    def roles_for(self, claims: Mapping[str, Any], groups: Iterable[str] = ()) -> list[str]:
        """The okrgov roles the claims grant, sorted."""
        values = self.values(claims, groups)
        return sorted({role for value in values for role in self.grants.get(value, ())})

    def holders_of(self, role: str) -> list[str]:
        """The claim values (groups, app roles) that grant ``role``."""
        return sorted(value for value, roles in self.grants.items() if role in roles)


def _at(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def role_grants(data: Mapping[str, Any], known_roles: Collection[str]) -> RoleGrants:
    """The mapping in a bundle's data (none: no claim grants anything); raises
    ``InvalidRoleGrants`` for a malformed one, naming the key and the rule."""
    identity = data.get("identity")
    if identity is None:
        return RoleGrants()
    if not isinstance(identity, Mapping):
        raise InvalidRoleGrants("identity must be an object")
    claims = identity.get("role_claims", [])
    if not isinstance(claims, list) or not all(isinstance(c, str) and c for c in claims):
        raise InvalidRoleGrants("identity.role_claims must be a list of claim paths")
    grants = identity.get("role_grants", {})
    if not isinstance(grants, Mapping):
        raise InvalidRoleGrants("identity.role_grants must map claim values to role lists")
    parsed: dict[str, tuple[str, ...]] = {}
    for value, roles in grants.items():
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidRoleGrants(f"identity.role_grants[{value!r}] must be a list of roles")
        unknown = sorted(set(roles) - set(known_roles))
        if unknown:
            raise InvalidRoleGrants(
                f"identity.role_grants[{value!r}] names {unknown[0]!r}, which is no okrgov "
                f"role ({', '.join(sorted(known_roles))})"
            )
        parsed[value] = tuple(sorted(set(roles)))
    return RoleGrants(tuple(claims), parsed)
