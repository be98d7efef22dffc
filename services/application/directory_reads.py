"""Reading the people directory as the people it serves see it: who may read whose entry,
the entries one may list, and a person's directory history (who changed what of them,
and when), read from the audit trail. ``GET /v1/people`` and the console's people pages
both call these, so the API and the console answer alike.

Oversight (compliance, executives, risk officers) and admins read everyone: oversight
reviews who held which access; admins keep the directory. Anyone else reads their own
entry only, as ``GET /v1/tokens`` shows each their own tokens."""

from collections.abc import Iterable, Mapping
from typing import Any

from events.directory import person_id
from events.identity import canonical_user_id
from projections.entries import Entry, EntryQuery, EntryView
from services.application.directory import Directory
from services.application.errors import Forbidden
from services.application.people import Person
from services.application.principals import OVERSIGHT, Principal, Role

#: How refusals name who reads the directory.
READERS = "compliance, executives, risk officers and admins"
#: The group events a person's history shows (those whose membership names them).
_GROUP_ACTIONS = ("Group.MembersChanged",)
_GROUP_NAMES = ("Group.Created", "Group.Renamed")


def reads_everyone(principal: Principal) -> bool:
    return principal.has(*OVERSIGHT, Role.ADMIN)


def require_reader_of(principal: Principal, user_id: str) -> None:
    """Anyone with a role reads their own entry; oversight and admins anyone's."""
    principal.require_reader()
    if principal.user != user_id and not reads_everyone(principal):
        raise Forbidden(f"another person's directory entry is read by {READERS}")


def listed(
    principal: Principal,
    people: Mapping[str, Person],
    active: bool | None = None,
    team: str | None = None,
) -> list[Person]:
    """The people this principal may read, by user id, filtered (every filter given must
    hold; the team is compared ignoring case)."""
    principal.require_reader()
    everyone = reads_everyone(principal)
    wanted = team.strip().casefold() if team is not None else None
    return [
        person
        for user, person in sorted(people.items())
        if (everyone or user == principal.user)
        and (active is None or person.active == active)
        and (wanted is None or person.team.casefold() == wanted)
    ]


def history(directory: Directory, audit: EntryView, user: str) -> list[Entry]:
    """Every directory event about ``user``, in store order: their own record's (provisioned,
    updated, deactivated, reactivated) and every group membership change naming them,
    each with the group's ``group`` name (as the group is called now, or was last)."""
    user_id = canonical_user_id(user)
    own = list(audit.pages(EntryQuery(aggregate_id=str(person_id(user_id)))))
    memberships = [
        entry
        for entry in audit.pages(EntryQuery(actions=_GROUP_ACTIONS))
        if user_id in _members(entry)
    ]
    names = _group_names(directory, audit, {e["aggregate_id"] for e in memberships})
    for entry in memberships:
        entry["details"] = {**entry["details"], "group": names.get(entry["aggregate_id"])}
    return sorted([*own, *memberships], key=lambda e: int(e["position"]))


def _members(entry: Entry) -> set[str]:
    changes = entry.get("changes") or {}
    named: set[str] = set()
    for side in ("added", "removed"):
        value = (changes.get(side) or {}).get("after")
        if isinstance(value, list):
            named.update(v for v in value if isinstance(v, str))
    return named


def _group_names(directory: Directory, audit: EntryView, ids: Iterable[str]) -> dict[str, str]:
    """group id -> its name now (a deleted group: the last name the trail gave it)."""
    names = {str(g.id): g.name for g in directory.groups()}
    lacking = set(ids) - set(names)
    for ident in sorted(lacking):
        for entry in audit.pages(EntryQuery(aggregate_id=ident, actions=_GROUP_NAMES)):
            name = _after(entry, "name")
            if isinstance(name, str):
                names[ident] = name
    return names


def _after(entry: Entry, field: str) -> Any:
    return ((entry.get("changes") or {}).get(field) or {}).get("after")
