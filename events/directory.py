"""The people directory as records: who a person is to the firm (display name, e-mail, job
role, team, title), whether they may still act, and which groups they belong to. Kept by
SCIM provisioning and refreshed from the identity provider's claims at sign-in; every
change names who made it (the provisioning client's user, or the person signing in).

Events carry user ids; what a page shows of a person is read from here when it is
rendered, never copied into other records."""

import uuid
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from events.errors import InvalidTransition, InvalidValue
from events.identity import user_id_field
from events.provenance import GovernedAggregate, Stamp

#: The namespace of the directory's ids: a person's aggregate id is derived from their
#: user id, so one user id is one record and can never be provisioned twice.
_PEOPLE = uuid.UUID("6f0c1d57-2d3e-4b8e-9d2a-1c5f3e7a9b01")

#: The fields of a person the directory keeps, beside the user id and ``active``.
PERSON_FIELDS = ("name", "email", "job_role", "team", "title", "external_id")
_LONGEST = 256


def person_id(user_id: str) -> UUID:
    """The directory record of a (canonical) user id."""
    return uuid.uuid5(_PEOPLE, user_id)


def _fields(values: dict[str, Any]) -> dict[str, str]:
    unknown = sorted(set(values) - set(PERSON_FIELDS))
    if unknown:
        raise InvalidValue(f"a person has no field {unknown[0]!r}", field=unknown[0])
    cleaned: dict[str, str] = {}
    for name, value in values.items():
        text = "" if value is None else str(value).strip()
        if len(text) > _LONGEST:
            raise InvalidValue(f"{name} has at most {_LONGEST} characters", field=name)
        cleaned[name] = text
    return cleaned


class Person(GovernedAggregate):
    """One person of the directory, identified by ``person_id(user_id)``."""

    class Provisioned(GovernedAggregate.Created):
        user_id: str
        details: dict[str, str]

    class Updated(GovernedAggregate.Event):
        changes: dict[str, str]

    class Deactivated(GovernedAggregate.Event):
        pass

    class Reactivated(GovernedAggregate.Event):
        pass

    @classmethod
    def provision(
        cls, user_id: str, details: dict[str, Any], stamp: Stamp, reason: str | None = None
    ) -> "Person":
        user = user_id_field(user_id, "user_id")
        return cls._create(
            cls.Provisioned,
            id=person_id(user),
            user_id=user,
            details=_fields(details),
            **stamp.fields(reason),
        )

    @event(Provisioned)
    def __init__(
        self,
        user_id: str,
        details: dict[str, str],
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.user_id = user_id
        self.details = {name: "" for name in PERSON_FIELDS} | details
        self.active = True

    def changes_to(self, values: dict[str, Any]) -> dict[str, str]:
        """The fields of ``values`` that differ from what the directory holds."""
        return {k: v for k, v in _fields(values).items() if self.details.get(k, "") != v}

    def update(self, values: dict[str, Any], stamp: Stamp, reason: str | None = None) -> bool:
        """Record the fields that changed; False (nothing recorded) when none did."""
        changes = self.changes_to(values)
        if changes:
            self._updated(changes=changes, **stamp.fields(reason))
        return bool(changes)

    @event(Updated)
    def _updated(
        self, changes: dict[str, str], actor: str, correlation_id: str, reason: str | None
    ) -> None:
        self.details = {**self.details, **changes}

    def deactivate(self, stamp: Stamp, reason: str | None = None) -> None:
        if not self.active:
            raise InvalidTransition(f"{self.user_id} is already inactive")
        self._deactivated(**stamp.fields(reason))

    @event(Deactivated)
    def _deactivated(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.active = False

    def reactivate(self, stamp: Stamp, reason: str | None = None) -> None:
        if self.active:
            raise InvalidTransition(f"{self.user_id} is already active")
        self._reactivated(**stamp.fields(reason))

    @event(Reactivated)
    def _reactivated(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.active = True


class Group(GovernedAggregate):
    """A group of the identity provider (``okrgov-executives``), its members by user id.
    What a group grants is not here: the guardrail bundle's role mapping says."""

    class Created(GovernedAggregate.Created):
        name: str
        external_id: str

    class MembersChanged(GovernedAggregate.Event):
        added: list[str]
        removed: list[str]

    class Renamed(GovernedAggregate.Event):
        name: str

    class Deleted(GovernedAggregate.Event):
        pass

    @classmethod
    def create(
        cls, name: str, external_id: str, stamp: Stamp, reason: str | None = None
    ) -> "Group":
        text = name.strip()
        if not text or len(text) > _LONGEST:
            raise InvalidValue(f"a group name has 1 to {_LONGEST} characters", field="name")
        return cls._create(
            cls.Created,
            name=text,
            external_id=external_id.strip(),
            **stamp.fields(reason),
        )

    @event(Created)
    def __init__(
        self, name: str, external_id: str, actor: str, correlation_id: str, reason: str | None
    ) -> None:
        self.name = name
        self.external_id = external_id
        self.members: list[str] = []
        self.deleted = False

    def set_members(self, members: list[str], stamp: Stamp, reason: str | None = None) -> bool:
        """Record who joined and who left; False when the membership is unchanged."""
        wanted = {user_id_field(m, "members") for m in members}
        added = sorted(wanted - set(self.members))
        removed = sorted(set(self.members) - wanted)
        if added or removed:
            self._members_changed(added=added, removed=removed, **stamp.fields(reason))
        return bool(added or removed)

    @event(MembersChanged)
    def _members_changed(
        self,
        added: list[str],
        removed: list[str],
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.members = sorted((set(self.members) | set(added)) - set(removed))

    def rename(self, name: str, stamp: Stamp, reason: str | None = None) -> None:
        text = name.strip()
        if not text or len(text) > _LONGEST:
            raise InvalidValue(f"a group name has 1 to {_LONGEST} characters", field="name")
        if text != self.name:
            self._renamed(name=text, **stamp.fields(reason))

    @event(Renamed)
    def _renamed(self, name: str, actor: str, correlation_id: str, reason: str | None) -> None:
        self.name = name

    def delete(self, stamp: Stamp, reason: str | None = None) -> None:
        if self.deleted:
            raise InvalidTransition(f"group {self.name} was already deleted")
        self._deleted(**stamp.fields(reason))

    @event(Deleted)
    def _deleted(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.deleted = True
        self.members = []
