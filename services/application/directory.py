"""The people directory: who each user id is (``Person``), whether they may still act, and
the groups they belong to, read from the directory's events (``events.directory``), and
the commands that change it (SCIM provisioning, sign-in refreshing a person from their
claims, the demo's roster). Every change is an event naming who made it, so the audit
trail shows who changed whom and when.

Every process keeps the directory in memory, read from the store's directory events and
refreshed at most every ``refresh_seconds`` (at once after a change it makes itself), so
a deactivation recorded by any process stops the person in every process within that
interval."""

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from eventsourcing.utils import get_topic

from events.directory import Group, person_id
from events.directory import Person as PersonRecord
from events.errors import NotFound
from events.identity import canonical_user_id
from events.provenance import Stamp
from infra.keyset import keyset_pages
from infra.logging import current_correlation_id, new_correlation_id
from services.application.errors import Conflict
from services.application.ledger_base import Recorded, retry_on_conflict
from services.application.people import Person

log = structlog.get_logger(__name__)

_PERSON_EVENTS = (
    PersonRecord.Provisioned, PersonRecord.Updated, PersonRecord.Deactivated,
    PersonRecord.Reactivated,
)  # fmt: skip
_GROUP_EVENTS = (Group.Created, Group.MembersChanged, Group.Renamed, Group.Deleted)
_TOPICS = tuple(get_topic(kind) for kind in (*_PERSON_EVENTS, *_GROUP_EVENTS))
_PAGE = 500


class GroupRecord:
    """A group as the directory holds it."""

    def __init__(self, group_id: UUID, name: str, external_id: str) -> None:
        self.id = group_id
        self.name = name
        self.external_id = external_id
        self.members: list[str] = []


class Directory:
    """The people and groups of one store, as its events say, and the commands on them."""

    def __init__(
        self,
        application: Application[UUID],
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        refresh_seconds: float = 1.0,
    ) -> None:
        self._application = application
        self._recorder = recorder
        self._mapper = mapper
        self._refresh_seconds = refresh_seconds
        self._people: dict[str, Person] = {}
        self._groups: dict[UUID, GroupRecord] = {}
        self._user_of: dict[UUID, str] = {}
        self._view: dict[str, Person] | None = None
        """``_people`` with their groups, made again after a change."""
        self._position = 0
        self._refreshed_at = float("-inf")
        self._lock = threading.Lock()

    # ---- reading -------------------------------------------------------------------------

    @property
    def refresh_seconds(self) -> float:
        return self._refresh_seconds

    @refresh_seconds.setter
    def refresh_seconds(self, seconds: float) -> None:
        self._refresh_seconds = seconds

    def refresh(self, force: bool = False) -> None:
        """Read the directory events recorded since the last refresh (when the last one is
        older than ``refresh_seconds``, or ``force``)."""
        if not force and time.monotonic() - self._refreshed_at < self._refresh_seconds:
            return
        with self._lock:
            for notification in keyset_pages(
                self._events, lambda n: n.id, after=self._position, page_size=_PAGE
            ):
                self._apply(self._mapper.to_domain_event(notification))
                self._position = notification.id
                self._view = None
            self._refreshed_at = time.monotonic()

    def _events(self, after: int, limit: int) -> Sequence[Notification]:
        return self._recorder.select_notifications(
            start=after, limit=limit, topics=_TOPICS, inclusive_of_start=False
        )

    def people(self) -> Mapping[str, Person]:
        """user id -> person, everyone ever provisioned (the inactive too)."""
        self.refresh()
        with self._lock:
            if self._view is None:
                self._view = {u: _with_groups(p, self._groups) for u, p in self._people.items()}
            return self._view

    def names(self) -> Mapping[str, str]:
        """user id -> display name, for rendering (ids without a name show as they are)."""
        return {user: person.name for user, person in self.people().items() if person.name}

    def find(self, user: str) -> Person | None:
        return self.people().get(user)

    def is_deactivated(self, user: str) -> bool:
        """True only for a person the directory holds as inactive (someone it does not know
        is not stopped by it: okrgov tokens and provider claims say who they are)."""
        person = self.find(user)
        return person is not None and not person.active

    def groups(self) -> list[GroupRecord]:
        """Every group not deleted, by name."""
        self.refresh()
        return sorted(self._groups.values(), key=lambda g: g.name)

    def group(self, group_id: UUID) -> GroupRecord | None:
        self.refresh()
        return self._groups.get(group_id)

    def _apply(self, event: Any) -> None:
        if isinstance(event, PersonRecord.Provisioned):
            self._people[event.user_id] = _person(event.user_id, event.details, True)
            self._user_of[event.originator_id] = event.user_id
        elif isinstance(event, _PERSON_EVENTS):
            self._apply_person(event)
        elif isinstance(event, Group.Created):
            self._groups[event.originator_id] = GroupRecord(
                event.originator_id, event.name, event.external_id
            )
        else:
            self._apply_group(event)

    def _apply_person(self, event: Any) -> None:
        person = self._people.get(self._user_of.get(event.originator_id, ""))
        if person is None:
            return
        details = _details(person)
        active = person.active
        if isinstance(event, PersonRecord.Updated):
            details.update(event.changes)
        else:
            active = isinstance(event, PersonRecord.Reactivated)
        self._people[person.user_id] = _person(person.user_id, details, active)

    def _apply_group(self, event: Any) -> None:
        group = self._groups.get(event.originator_id)
        if group is None:
            return
        if isinstance(event, Group.MembersChanged):
            group.members = sorted((set(group.members) | set(event.added)) - set(event.removed))
        elif isinstance(event, Group.Renamed):
            group.name = event.name
        elif isinstance(event, Group.Deleted):
            del self._groups[event.originator_id]

    # ---- people --------------------------------------------------------------------------

    @retry_on_conflict
    def provision(
        self, user: str, details: Mapping[str, Any], *, by: str, reason: str | None = None
    ) -> Recorded:
        """A new person (active); ``Conflict`` when the user id is already provisioned."""
        user_id = canonical_user_id(user)
        if self._load_person(user_id) is not None:
            raise Conflict(f"{user_id} is already in the directory")
        record = PersonRecord.provision(user_id, dict(details), self._stamp(by), reason)
        return self._record(record)

    @retry_on_conflict
    def update(
        self, user: str, details: Mapping[str, Any], *, by: str, reason: str | None = None
    ) -> Recorded:
        """Record what changed of a person's details (position 0: nothing did)."""
        record = self._person(user)
        if not record.update(dict(details), self._stamp(by), reason):
            return Recorded(record.id, 0)
        return self._record(record)

    @retry_on_conflict
    def set_active(
        self, user: str, active: bool, *, by: str, reason: str | None = None
    ) -> Recorded:
        """Deactivate (a leaver) or reactivate a person (position 0: already so)."""
        record = self._person(user)
        if record.active == active:
            return Recorded(record.id, 0)
        if active:
            record.reactivate(self._stamp(by), reason)
        else:
            record.deactivate(self._stamp(by), reason)
        log.info("directory.active_changed", user=record.user_id, active=active, by=by)
        return self._record(record)

    def refresh_from_sign_in(self, user: str, details: Mapping[str, Any]) -> Recorded:
        """At sign-in, the provider's claims (name, e-mail, job role, team) refresh the
        person's record, by the person themselves; a person the directory does not know
        yet is added. Empty values never blank out what provisioning wrote."""
        user_id = canonical_user_id(user)
        present = {k: v for k, v in details.items() if v}
        if self._load_person(user_id) is None:
            return self.provision(user_id, present, by=user_id, reason="first sign-in")
        return self.update(user_id, present, by=user_id, reason="sign-in")

    # ---- groups --------------------------------------------------------------------------

    def create_group(
        self, name: str, members: Sequence[str], *, external_id: str = "", by: str
    ) -> Recorded:
        """A new group; ``Conflict`` when a group of that name exists."""
        if any(g.name == name.strip() for g in self.groups()):
            raise Conflict(f"a group named {name.strip()!r} exists")
        group = Group.create(name, external_id, self._stamp(by))
        group.set_members(list(members), self._stamp(by))
        return self._record(group)

    @retry_on_conflict
    def change_group(
        self,
        group_id: UUID,
        *,
        by: str,
        name: str | None = None,
        members: Sequence[str] | None = None,
    ) -> Recorded:
        """Rename a group and/or set its members (position 0: nothing changed)."""
        group = self._group(group_id)
        if name is not None and name.strip() != group.name:
            if any(g.name == name.strip() for g in self.groups()):
                raise Conflict(f"a group named {name.strip()!r} exists")
            group.rename(name, self._stamp(by))
        if members is not None:
            group.set_members(list(members), self._stamp(by))
        if not group.pending_events:
            return Recorded(group.id, 0)
        return self._record(group)

    @retry_on_conflict
    def delete_group(self, group_id: UUID, *, by: str) -> Recorded:
        group = self._group(group_id)
        group.delete(self._stamp(by))
        return self._record(group)

    # ---- recording -----------------------------------------------------------------------

    def _load_person(self, user_id: str) -> PersonRecord | None:
        try:
            record: object = self._application.repository.get(person_id(user_id))
        except AggregateNotFoundError:
            return None
        return record if isinstance(record, PersonRecord) else None

    def _person(self, user: str) -> PersonRecord:
        user_id = canonical_user_id(user)
        record = self._load_person(user_id)
        if record is None:
            raise NotFound("person", user_id)
        return record

    def _group(self, group_id: UUID) -> Group:
        try:
            group: object = self._application.repository.get(group_id)
        except AggregateNotFoundError:
            raise NotFound("group", group_id) from None
        if not isinstance(group, Group) or group.deleted:
            raise NotFound("group", group_id)
        return group

    def _stamp(self, actor: str) -> Stamp:
        return Stamp(canonical_user_id(actor), current_correlation_id() or new_correlation_id())

    def _record(self, aggregate: PersonRecord | Group) -> Recorded:
        recordings = self._application.save(aggregate)
        self.refresh(force=True)
        return Recorded(aggregate.id, max(r.notification.id for r in recordings))


def _details(person: Person) -> dict[str, str]:
    return {
        "name": person.name, "email": person.email, "job_role": person.job_role,
        "team": person.team, "title": person.title, "external_id": person.external_id,
    }  # fmt: skip


def _person(user_id: str, details: Mapping[str, str], active: bool) -> Person:
    return Person(
        user_id=user_id,
        name=details.get("name", ""),
        job_role=details.get("job_role", ""),
        team=details.get("team", ""),
        title=details.get("title", ""),
        email=details.get("email", ""),
        external_id=details.get("external_id", ""),
        active=active,
    )


def _with_groups(person: Person, groups: Mapping[UUID, GroupRecord]) -> Person:
    names = tuple(sorted(g.name for g in groups.values() if person.user_id in g.members))
    return person if names == person.groups else replace(person, groups=names)
