"""Guardrail policy versions and the registry that keeps exactly one of them active.

A risk officer proposes a version (Rego modules and data); a different risk officer
approves it, which activates it and retires the one before, all in one save through the
registry, so two approvals racing cannot leave two versions active."""

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from events.errors import InvalidTransition, InvalidValue, SelfApproval
from events.provenance import GovernedAggregate, Stamp

REGISTRY_ID = uuid5(NAMESPACE_URL, "okrgov:policy-registry")


class PolicyVersion(GovernedAggregate):
    """One numbered version of the guardrail bundle: proposed, then active, then retired."""

    class Proposed(GovernedAggregate.Created):
        # Version 2 added the version's own Rego tests (``*_test.rego`` modules).
        class_version = 2

        number: int
        modules: dict[str, str]
        data: dict[str, Any]
        description: str
        digest: str
        tests: dict[str, str]
        """The version's ``*_test.rego`` modules by file name (not part of its digest)."""

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.setdefault("tests", {})

    class Approved(GovernedAggregate.Event):
        pass

    class Retired(GovernedAggregate.Event):
        superseded_by: int

    @classmethod
    def propose(
        cls,
        number: int,
        modules: dict[str, str],
        data: dict[str, Any],
        description: str,
        digest: str,
        stamp: Stamp,
        tests: dict[str, str] | None = None,
    ) -> "PolicyVersion":
        if not modules:
            raise InvalidValue("a policy version needs at least one Rego module", field="modules")
        return cls(
            number=number,
            modules=modules,
            data=data,
            description=description.strip(),
            digest=digest,
            tests=dict(tests or {}),
            **stamp.fields(),
        )

    @event(Proposed)
    def __init__(
        self,
        number: int,
        modules: dict[str, str],
        data: dict[str, Any],
        description: str,
        digest: str,
        tests: dict[str, str],
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.number = number
        self.modules = modules
        self.data = data
        self.description = description
        self.digest = digest
        self.tests = tests
        self.proposer = actor
        self.approver: str | None = None
        self.status = "proposed"

    def approve(self, stamp: Stamp, *, seed: bool = False) -> None:
        """Four eyes: the approver is never the proposer (only the shipped seed is exempt)."""
        if self.status != "proposed":
            raise InvalidTransition(f"policy version {self.number} is {self.status}")
        if stamp.actor == self.proposer and not seed:
            raise SelfApproval("a policy version is approved by someone other than its proposer")
        self._approved(**stamp.fields())

    def retire(self, superseded_by: int, stamp: Stamp) -> None:
        self._retired(superseded_by=superseded_by, **stamp.fields())

    @event(Approved)
    def _approved(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.status = "active"
        self.approver = actor

    @event(Retired)
    def _retired(
        self, superseded_by: int, actor: str, correlation_id: str, reason: str | None
    ) -> None:
        self.status = "retired"


class PolicyRegistry(GovernedAggregate):
    """Numbers the versions and names the single active one (one per store)."""

    class Created(GovernedAggregate.Created):
        pass

    class VersionNumbered(GovernedAggregate.Event):
        policy_id: UUID
        number: int

    class VersionActivated(GovernedAggregate.Event):
        policy_id: UUID
        number: int
        digest: str

    @staticmethod
    def create_id() -> UUID:
        return REGISTRY_ID

    @event(Created)
    def __init__(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.versions: list[UUID] = []
        self.active_id: UUID | None = None
        self.active_number: int | None = None
        self.active_digest: str | None = None

    @property
    def next_number(self) -> int:
        return len(self.versions) + 1

    def number(self, version: PolicyVersion, stamp: Stamp) -> None:
        if version.number != self.next_number:
            raise InvalidTransition(f"the next policy version is {self.next_number}")
        self._numbered(policy_id=version.id, number=version.number, **stamp.fields())

    def activate(self, version: PolicyVersion, stamp: Stamp) -> None:
        self._activated(
            policy_id=version.id, number=version.number, digest=version.digest, **stamp.fields()
        )

    @event(VersionNumbered)
    def _numbered(
        self, policy_id: UUID, number: int, actor: str, correlation_id: str, reason: str | None
    ) -> None:
        self.versions.append(policy_id)

    @event(VersionActivated)
    def _activated(
        self,
        policy_id: UUID,
        number: int,
        digest: str,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.active_id = policy_id
        self.active_number = number
        self.active_digest = digest
