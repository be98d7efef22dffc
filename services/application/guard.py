"""Guardrails on the write path: every command that changes OKRs asks the guard before its
events are saved. An allowed decision is saved with the command's events; a denied one is
saved alone and the command answered with the violated rules; an engine failure is saved
too and the command refused (fail closed).

The guard is a collaborator of the ledger, not a base class of it: the composition root
(``services.bootstrap``) builds it with the decision point it chose and hands it to the
ledger; unit tests hand it a fake one. It asks the store it is given for the active
policy version and records its decisions through that store's unit of work."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, Unpack
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from events import Cycle, KeyResult, Objective, Stamp
from events.decision import ALLOWED, DENIED, ERROR, Decision, EventRef, pending_refs
from events.identity import SYSTEM
from events.policy import PolicyVersion
from events.values import TargetKind
from policies.bundle import PolicyBundle, input_digest
from policies.decision_point import Ruling
from policies.engine import PolicyError, PolicyTimeout, Violation
from services.application.directory import Directory
from services.application.errors import GuardrailViolation, PolicyTimedOut, PolicyUnavailable
from services.application.guardrail_input import (
    Context,
    Doc,
    FindsPerson,
    build_input,
    objective_doc,
)
from services.application.ledger_base import LedgerBase, Recorded
from services.application.principals import Principal

log = structlog.get_logger(__name__)

SYSTEM_ACTOR = SYSTEM


def _items(violations: Iterable[Violation]) -> list[dict[str, str]]:
    return [{"rule": v.rule, "message": v.message} for v in violations]


def bundle_of(version: PolicyVersion) -> PolicyBundle:
    return PolicyBundle(
        modules=dict(version.modules), data=dict(version.data), tests=dict(version.tests)
    )


@dataclass(frozen=True)
class Allowed:
    """An allowed ruling waiting to be recorded with the events of its command."""

    ruling: Ruling
    action: str
    principal: Principal
    target_kind: str
    objective_id: UUID | None = None
    """The objective the guard was given (None for cycle commands and new objectives)."""
    document: Doc | None = None
    """The input document the policies judged."""

    @property
    def warnings(self) -> list[dict[str, str]]:
        return _items(self.ruling.verdict.warn)

    def decision(
        self,
        stamp: Stamp,
        target_id: UUID | None,
        objective_id: UUID | None,
        covers: list[EventRef],
    ) -> Decision:
        return _decision(
            self.action, self.principal, self.target_kind, target_id, ALLOWED, stamp,
            ruling=self.ruling, document=self.document, objective_id=objective_id,
            covers=covers,
        )  # fmt: skip


def _decision(
    action: str,
    principal: Principal,
    target_kind: str,
    target_id: UUID | None,
    outcome: str,
    stamp: Stamp,
    *,
    ruling: Ruling | None = None,
    document: Doc | None = None,
    error: str | None = None,
    objective_id: UUID | None = None,
    covers: list[EventRef] | None = None,
) -> Decision:
    return Decision.record(
        action=action,
        roles=sorted(r.value for r in principal.roles),
        target_kind=target_kind,
        target_id=target_id,
        outcome=outcome,
        deny=_items(ruling.verdict.deny) if ruling else [],
        warn=_items(ruling.verdict.warn) if ruling else [],
        policy_version=ruling.policy_version if ruling else None,
        bundle_digest=ruling.bundle_digest if ruling else None,
        input_digest=ruling.input_digest if ruling else input_digest(document or {}),
        error=error,
        stamp=stamp,
        objective_id=objective_id,
        covers=covers or [],
        input=document,
    )


def people_of(store: LedgerBase) -> FindsPerson | None:
    """The store's directory lookup (the ledger keeps one; a bare store has none)."""
    directory = getattr(store, "directory", None)
    return directory.find if isinstance(directory, Directory) else None


class DecidesPolicy(Protocol):
    """What the guard needs of a decision point (``policies.decision_point.DecisionPoint``
    in the shipped processes, a fake in unit tests)."""

    def ensure(self, number: int, digest: str, bundle: Callable[[], PolicyBundle]) -> None:
        """Have the given active version loaded (``bundle`` reads it when it is not)."""

    def decide(self, document: Doc) -> Ruling:
        """Judge one input document under the loaded version."""

    def close(self) -> None:
        """Stop the engine."""


class Guard:
    """Asks the decision point about a command and records the answer with it.

    Built without a decision point (``Guard(None)``: a ledger opened only to read or seed
    its store, as some tests do), it refuses every guarded command as the engine being
    unavailable, and records that refusal: fail closed, never a default engine."""

    def __init__(self, decision_point: DecidesPolicy | None) -> None:
        self.decision_point = decision_point

    def close(self) -> None:
        if self.decision_point is not None:
            self.decision_point.close()

    def check(
        self,
        store: LedgerBase,
        principal: Principal,
        action: str,
        target_kind: str,
        target_id: UUID | None,
        before: Doc | None,
        after: Doc | None,
        **context: Unpack[Context],
    ) -> Allowed:
        """Ask the decision point; record and raise a denial or an engine failure. The
        people the input names are looked up in the store's directory."""
        context.setdefault("people", people_of(store))
        document = build_input(action, principal, target_kind, target_id, before, after, **context)
        stamp = store.stamp(principal)
        objective = context.get("objective")
        objective_id = objective.id if objective is not None else None
        try:
            ruling = self._decide(store, document)
        except PolicyError as exc:
            failed = _decision(
                action, principal, target_kind, target_id, ERROR, stamp,
                document=document, error=str(exc), objective_id=objective_id,
            )  # fmt: skip
            recorded = store.record(failed)
            log.error("guardrails.unavailable", action=action, error=str(exc))
            refusal = PolicyTimedOut if isinstance(exc, PolicyTimeout) else PolicyUnavailable
            raise refusal(
                f"the guardrail policies could not be evaluated, so nothing was changed: {exc}",
                position=recorded.position,
            ) from exc
        if not ruling.verdict.allowed:
            denied = _decision(
                action, principal, target_kind, target_id, DENIED, stamp,
                ruling=ruling, document=document, objective_id=objective_id,
            )  # fmt: skip
            recorded = store.record(denied)
            log.info(
                "guardrails.denied", action=action, rules=[v.rule for v in ruling.verdict.deny]
            )
            raise GuardrailViolation(
                _items(ruling.verdict.deny), _items(ruling.verdict.warn), recorded.position
            )
        return Allowed(ruling, action, principal, target_kind, objective_id, document)

    def check_objective(
        self,
        store: LedgerBase,
        principal: Principal,
        action: str,
        objective: Objective,
        cycle: Cycle,
        after: Doc | None,
    ) -> Allowed:
        """Guard a change to one objective: its definition before, and after (None when
        it is retired)."""
        return self.check(
            store, principal, action, TargetKind.OBJECTIVE, objective.id, objective_doc(objective),
            after, objective=objective, cycle=cycle,
        )  # fmt: skip

    def check_key_result(
        self,
        store: LedgerBase,
        principal: Principal,
        action: str,
        key_result: KeyResult,
        objective: Objective,
        cycle: Cycle,
        after: Doc | None,
    ) -> Allowed:
        """Guard a change to one key result's definition (revise, retire, request)."""
        return self.check(
            store, principal, action, TargetKind.KEY_RESULT, key_result.id,
            dict(key_result.definition), after, objective=objective, cycle=cycle,
            siblings=store.live_key_results(objective, but=key_result.id),
        )  # fmt: skip

    def commit(
        self,
        store: LedgerBase,
        allowed: Allowed,
        stamp: Stamp,
        subject: Aggregate,
        *others: Aggregate,
    ) -> Recorded:
        """Save a command's events with its allowed decision, in one save(). The decision
        names the events it covers and the objective, so the audit trail attaches it to
        them from the decision alone, whatever order it reads aggregates in."""
        objective_id = allowed.objective_id
        if objective_id is None and isinstance(subject, Objective):
            objective_id = subject.id  # a new objective: the guard saw only its document
        covers = pending_refs((subject, *others))
        decision = allowed.decision(stamp, subject.id, objective_id, covers)
        return store.record(subject, *others, decision, warnings=allowed.warnings)

    def _decide(self, store: LedgerBase, document: Doc) -> Ruling:
        """Load the active version into the decision point if it is not the loaded one,
        then judge the document."""
        if self.decision_point is None:
            raise PolicyError("no policy decision point was given to this process")
        try:
            registry = store.registry()
        except AggregateNotFoundError:
            raise PolicyError("no policy version has been activated") from None
        if registry.active_id is None or registry.active_number is None:
            raise PolicyError("no policy version has been activated")
        active_id = registry.active_id
        self.decision_point.ensure(
            registry.active_number,
            registry.active_digest or "",
            lambda: bundle_of(store.load(PolicyVersion, active_id, to_change=False)),
        )
        return self.decision_point.decide(document)
