"""Guardrail policy versions and the registry that keeps exactly one of them active.

A risk officer proposes a version (Rego modules and data); a different risk officer
approves it, which activates it and retires the one before, all in one save through the
registry, so two approvals racing cannot leave two versions active.

A version is recorded with its divergence report (whether it decides the same
under regorus and under OPA, ``policies.divergence``). A version whose report shows
differing inputs, or says the engines were not compared, is approved only with the
divergence acknowledged, and the acknowledgement (who, why, how many inputs differed) is
recorded with the approval."""

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from events.errors import (
    DomainError,
    InvalidTransition,
    InvalidValue,
    ReasonRequired,
    RuleKind,
    SelfApproval,
)
from events.provenance import GovernedAggregate, Stamp

REGISTRY_ID = uuid5(NAMESPACE_URL, "okrgov:policy-registry")
#: The divergence report's status when both engines judged the whole probe corpus.
CHECKED = "checked"


class DivergenceNotAcknowledged(DomainError):
    """A version that may decide otherwise under another engine is approved only with
    the divergence acknowledged (``acknowledge_divergence``, with a reason)."""

    rule = "divergence_not_acknowledged"
    kind = RuleKind.STATE
    field = "acknowledge_divergence"

    def __init__(self, number: int, report: dict[str, Any] | None) -> None:
        self.report = report
        self.differing = int(report["differing"]) if report else 0
        self.inputs = int(report["inputs"]) if report else 0
        if report is None:
            what = "was proposed before versions were compared under both engines"
        elif report["status"] != CHECKED:
            what = f"was not compared under both engines ({report['reason']})"
        else:
            what = (
                f"decides differently under regorus and OPA on {self.differing} of "
                f"{self.inputs} probe inputs"
            )
        super().__init__(
            f"policy version {number} {what}; approve it with acknowledge_divergence: true "
            "and a reason to record that you accept it"
        )


def unresolved_divergence(report: dict[str, Any] | None) -> bool:
    """Whether a version with this divergence report needs its divergence acknowledged:
    inputs differ, or the engines were not compared (no report: proposed before versions
    were compared)."""
    return report is None or report.get("status") != CHECKED or report.get("differing", 0) > 0


class PolicyVersion(GovernedAggregate):
    """One numbered version of the guardrail bundle: proposed, then active, then retired."""

    class Proposed(GovernedAggregate.Created):
        # Version 2 added the version's own Rego tests (``*_test.rego`` modules), version 3
        # its divergence report.
        class_version = 3

        number: int
        modules: dict[str, str]
        data: dict[str, Any]
        description: str
        digest: str
        tests: dict[str, str]
        """The version's ``*_test.rego`` modules by file name (not part of its digest)."""

        divergence: dict[str, Any] | None
        """Whether it decides the same under regorus and OPA (``policies.divergence``);
        None for a version proposed before versions were compared: not checked."""

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.setdefault("tests", {})

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state.setdefault("divergence", None)

    class Approved(GovernedAggregate.Event):
        # Version 2 added the acknowledgement of a divergence.
        class_version = 2

        acknowledgement: dict[str, Any] | None
        """``{"by", "reason", "status", "differing", "inputs"}``: the approver accepted a
        version that diverges between engines (or was not compared); None when nothing
        needed acknowledging."""

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.setdefault("acknowledgement", None)

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
        divergence: dict[str, Any] | None = None,
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
            divergence=divergence,
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
        divergence: dict[str, Any] | None,
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
        self.divergence = divergence
        self.proposer = actor
        self.approver: str | None = None
        self.acknowledgement: dict[str, Any] | None = None
        self.status = "proposed"

    def approve(
        self,
        stamp: Stamp,
        *,
        seed: bool = False,
        acknowledge_divergence: bool = False,
        reason: str | None = None,
    ) -> None:
        """Four eyes: the approver is never the proposer (only the shipped seed is exempt).
        A version whose divergence is unresolved (``unresolved_divergence``) needs
        ``acknowledge_divergence`` and a reason; the acknowledgement is recorded."""
        if self.status != "proposed":
            raise InvalidTransition(f"policy version {self.number} is {self.status}")
        if stamp.actor == self.proposer and not seed:
            raise SelfApproval("a policy version is approved by someone other than its proposer")
        reason = reason.strip() if reason and reason.strip() else None
        acknowledgement = None
        if not seed and unresolved_divergence(self.divergence):
            if not acknowledge_divergence:
                raise DivergenceNotAcknowledged(self.number, self.divergence)
            if reason is None:
                raise ReasonRequired("say why the divergence is acceptable (reason)")
            report = self.divergence or {}
            acknowledgement = {
                "by": stamp.actor,
                "reason": reason,
                "status": report.get("status", "not_checked"),
                "differing": report.get("differing", 0),
                "inputs": report.get("inputs", 0),
            }
        self._approved(acknowledgement=acknowledgement, **stamp.fields(reason))

    def retire(self, superseded_by: int, stamp: Stamp) -> None:
        self._retired(superseded_by=superseded_by, **stamp.fields())

    @event(Approved)
    def _approved(
        self,
        acknowledgement: dict[str, Any] | None,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.status = "active"
        self.approver = actor
        self.acknowledgement = acknowledgement

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
