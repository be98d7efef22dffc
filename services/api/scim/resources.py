"""The directory as SCIM resources (scim2-models): a ``Person`` is a ``User`` with the
enterprise extension (``department`` is the team) and okrgov's own extension (``jobRole``,
named as the guardrails' data names job roles); a directory group is a ``Group`` whose
members are user ids. What a SCIM payload says is read back into the directory's fields
here too, so both directions of the mapping change together.

The SCIM ``id`` of a person is their okrgov user id (the canonical ``userName``): the
user id the identity provider's sign-in names (``OKRGOV_OIDC_USER_CLAIM``), the one every
event, token and role grant carries."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from scim2_models import (
    URN,
    Context,
    Email,
    EnterpriseUser,
    Extension,
    Group,
    GroupMember,
    GroupMembership,
    Meta,
    Name,
    Reference,
    ScimPolicy,
    User,
)

from events.directory import PERSON_FIELDS
from services.application.directory import GroupRecord
from services.application.people import Person

JOB_ROLE_SCHEMA = "urn:okrgov:params:scim:schemas:extension:2.0:User"
ENTERPRISE_SCHEMA = str(EnterpriseUser.__schema__)


class OkrgovUser(Extension):
    """okrgov's extension of a user: the job role the guardrails' conduct rules read
    (``investor_relations``, ``portfolio_manager``... as ``policies/bundle/data.json``
    names them)."""

    __schema__ = URN(JOB_ROLE_SCHEMA)
    job_role: str | None = None


#: A person as SCIM shows them.
ScimUser = User[EnterpriseUser | OkrgovUser]

#: What okrgov tolerates from provisioning clients: attributes it does not keep are
#: dropped (providers send what their admins map), Entra ID's ``remove`` with a ``value``
#: selects the members to remove, and a filter path naming an entry not there yet
#: (``emails[type eq "work"].value``) adds it, as Entra ID expects.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

#: The SCIM attribute each directory field is written from, for error messages.
ATTRIBUTE_OF = {
    "name": "displayName",
    "email": "emails",
    "job_role": f"{JOB_ROLE_SCHEMA}:jobRole",
    "team": f"{ENTERPRISE_SCHEMA}:department",
    "title": "title",
    "external_id": "externalId",
    "user_id": "userName",
    "members": "members",
}


def attribute_of(field: str | None) -> str:
    return ATTRIBUTE_OF.get(field or "", field or "the request")


def user_location(base: str, user_id: str) -> str:
    return f"{base}/Users/{quote(user_id, safe='@')}"


def group_location(base: str, group_id: object) -> str:
    return f"{base}/Groups/{group_id}"


def to_user(person: Person, groups: Iterable[GroupRecord], base: str) -> Any:
    """The SCIM user of a person; ``groups`` are the groups they belong to."""
    user = ScimUser(
        id=person.user_id,
        user_name=person.user_id,
        display_name=person.name or None,
        name=Name(formatted=person.name) if person.name else None,
        title=person.title or None,
        active=person.active,
        external_id=person.external_id or None,
        emails=[Email(value=person.email, primary=True, type=Email.Type.work)]
        if person.email
        else None,
        groups=[
            GroupMembership(
                value=str(g.id),
                display=g.name,
                ref=Reference[Group](group_location(base, g.id)),
                type="direct",
            )
            for g in groups
        ]
        or None,
        meta=Meta(resource_type="User", location=user_location(base, person.user_id)),
    )
    if person.team:
        user[EnterpriseUser] = EnterpriseUser(department=person.team)
    if person.job_role:
        user[OkrgovUser] = OkrgovUser(job_role=person.job_role)
    return user


def details_of(user: Any, previous_name: str = "") -> dict[str, str]:
    """The directory fields a SCIM user says (absent ones empty). The display name is
    ``displayName``, else ``name.formatted``, else given and family name (both); when a
    patch changed only one of them, the one that changed. The e-mail is the primary one,
    else the first."""
    enterprise = user[EnterpriseUser]
    okrgov = user[OkrgovUser]
    details = {
        "name": _display_name(user, previous_name),
        "email": _email(user.emails or ()),
        "job_role": (okrgov.job_role if okrgov else None) or "",
        "team": (enterprise.department if enterprise else None) or "",
        "title": user.title or "",
        "external_id": user.external_id or "",
    }
    assert set(details) == set(PERSON_FIELDS)
    return details


def _display_name(user: Any, previous: str) -> str:
    name = user.name
    full = name is not None and bool(name.given_name) and bool(name.family_name)
    candidates = [
        user.display_name or "",
        (name.formatted if name else None) or "",
        f"{name.given_name} {name.family_name}" if name is not None and full else "",
    ]
    changed = [c for c in candidates if c and c != previous]
    present = [c for c in candidates if c]
    return (changed or present or [""])[0]


def _email(emails: Sequence[Any]) -> str:
    primary = [e for e in emails if e.primary and e.value]
    given = primary or [e for e in emails if e.value]
    return str(given[0].value) if given else ""


def to_group(group: GroupRecord, names: Mapping[str, str], base: str) -> Group:
    """The SCIM group of a directory group; ``names`` are the people's display names."""
    return Group(
        id=str(group.id),
        display_name=group.name,
        external_id=group.external_id or None,
        members=[
            GroupMember(
                value=member,
                display=names.get(member) or None,
                ref=Reference[User[Any] | Group](user_location(base, member)),
                type="User",
            )
            for member in group.members
        ]
        or None,
        meta=Meta(resource_type="Group", location=group_location(base, group.id)),
    )


def member_ids(group: Group) -> list[str]:
    """The user ids a SCIM group names as its members."""
    return [str(m.value) for m in group.members or () if m.value is not None]


def dump(resource: Any, context: Context, parameters: Any = None) -> dict[str, Any]:
    """A resource as JSON for an answer in ``context`` (``attributes`` and
    ``excludedAttributes`` applied when ``parameters`` carry them)."""
    dumped: dict[str, Any] = resource.model_dump(
        scim_ctx=context, response_parameters=parameters, scim_policy=POLICY
    )
    return dumped
