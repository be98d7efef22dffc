"""The people directory as read: who each user id is (``Person``), whether they may still
act, and the groups they belong to, replayed from the directory's events
(``events.directory``). ``services.application.directory`` adds the commands.

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
from eventsourcing.application import Application
from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from eventsourcing.utils import get_topic

from events.directory import Group
from events.directory import Person as PersonRecord
from infra.keyset import keyset_pages
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


class DirectoryReader:
    """The people and groups of one store, as its events say (``Directory`` adds the
    commands that change them)."""

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
        self._memberships: dict[str, tuple[str, ...]] = {}
        """user id -> the names of their groups, made with ``_view``."""
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
                self._memberships = _memberships(self._groups)
                self._view = {
                    user: _with_groups(person, self._memberships.get(user, ()))
                    for user, person in self._people.items()
                }
            return self._view

    @property
    def position(self) -> int:
        """The store position of the last directory event read (after a refresh when due):
        a view that shows the directory's history waits for it."""
        self.refresh()
        return self._position

    def groups_of(self, user: str) -> tuple[str, ...]:
        """The names of the groups ``user`` is a member of, provisioned or not (SCIM may
        send a group before its members)."""
        self.people()
        return self._memberships.get(user, ())

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


def _memberships(groups: Mapping[UUID, GroupRecord]) -> dict[str, tuple[str, ...]]:
    """user id -> the names of the groups they are in: one pass over the memberships (a
    scan of every group per person grew with the square of the directory)."""
    found: dict[str, list[str]] = {}
    for group in groups.values():
        for member in group.members:
            found.setdefault(member, []).append(group.name)
    return {user: tuple(sorted(names)) for user, names in found.items()}


def _with_groups(person: Person, names: tuple[str, ...]) -> Person:
    return person if names == person.groups else replace(person, groups=names)
