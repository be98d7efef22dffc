"""The people directory's commands: SCIM provisioning, sign-in refreshing a person from
their claims, the demo's roster. Every change is an event naming who made it, so the audit
trail shows who changed whom and when; ``DirectoryReader`` reads them back."""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError

from events.directory import Group, person_id
from events.directory import Person as PersonRecord
from events.errors import NotFound
from events.identity import canonical_user_id
from events.provenance import Stamp
from infra.logging import current_correlation_id, new_correlation_id
from services.application.directory_reader import DirectoryReader, GroupRecord
from services.application.errors import Conflict
from services.application.ledger_base import Recorded, retry_on_conflict

__all__ = ["Directory", "GroupRecord"]

log = structlog.get_logger(__name__)


class Directory(DirectoryReader):
    """The directory of one store: what ``DirectoryReader`` reads, and the commands."""

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
