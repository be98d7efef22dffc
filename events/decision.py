"""A guardrail decision: what the policies said about one command, allowed or not.

Recorded in the same save as the command's events when allowed, and on its own when the
command was denied or the policy engine failed, so every attempt leaves a trace.

A decision carries what relates it to other aggregates, so a reader of the decision
alone (a projection fed one aggregate at a time, in no order across aggregates) needs
nothing else: the objective the command concerned, and which events it let through."""

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from events.provenance import GovernedAggregate, Stamp

ALLOWED, DENIED, ERROR = "allowed", "denied", "error"


class EventRef(NamedTuple):
    """An event by its aggregate and version: the same in every copy of the history. A
    decision's ``covers`` stores these as two-item lists (and decodes them so)."""

    originator_id: UUID
    originator_version: int


def pending_refs(aggregates: Iterable[Aggregate]) -> list[EventRef]:
    """The events these aggregates have raised and not yet saved: what a decision recorded
    in the same save covers."""
    return [
        EventRef(e.originator_id, e.originator_version)
        for a in aggregates
        for e in a.pending_events
    ]


class Decision(GovernedAggregate):
    """The verdict of the active guardrail policy on one attempted command."""

    class Recorded(GovernedAggregate.Created):
        # Version 2 added the objective and the covered events; version 3 the input.
        class_version = 3

        action: str
        roles: list[str]
        target_kind: str
        target_id: UUID | None
        outcome: str
        deny: list[dict[str, str]]
        warn: list[dict[str, str]]
        policy_version: int | None
        bundle_digest: str | None
        input_digest: str
        error: str | None
        objective_id: UUID | None
        """The objective the command concerned (None for cycle commands)."""
        covers: list[EventRef]
        """The events the command recorded with this decision (none unless allowed)."""
        input: dict[str, Any] | None
        """The input document the policies judged (its digest is ``input_digest``), so the
        decision can be judged again; None for decisions recorded before it was kept."""

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.setdefault("objective_id", None)
            state.setdefault("covers", [])

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state.setdefault("input", None)

    @classmethod
    def record(
        cls,
        *,
        action: str,
        roles: list[str],
        target_kind: str,
        target_id: UUID | None,
        outcome: str,
        deny: list[dict[str, str]],
        warn: list[dict[str, str]],
        policy_version: int | None,
        bundle_digest: str | None,
        input_digest: str,
        error: str | None,
        stamp: Stamp,
        objective_id: UUID | None = None,
        covers: Sequence[EventRef] = (),
        input: dict[str, Any] | None = None,
    ) -> "Decision":
        if covers and outcome != ALLOWED:
            raise ValueError("only an allowed decision covers the events of its command")
        return cls(
            action=action,
            roles=roles,
            target_kind=target_kind,
            target_id=target_id,
            outcome=outcome,
            deny=deny,
            warn=warn,
            policy_version=policy_version,
            bundle_digest=bundle_digest,
            input_digest=input_digest,
            error=error,
            objective_id=objective_id,
            covers=[EventRef(ident, version) for ident, version in covers],
            input=input,
            **stamp.fields(),
        )

    @event(Recorded)
    def __init__(
        self,
        action: str,
        roles: list[str],
        target_kind: str,
        target_id: UUID | None,
        outcome: str,
        deny: list[dict[str, str]],
        warn: list[dict[str, str]],
        policy_version: int | None,
        bundle_digest: str | None,
        input_digest: str,
        error: str | None,
        objective_id: UUID | None,
        covers: list[EventRef],
        input: dict[str, Any] | None,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.action = action
        self.actor = actor
        self.target_kind = target_kind
        self.target_id = target_id
        self.outcome = outcome
        self.deny = deny
        self.warn = warn
        self.policy_version = policy_version
        self.bundle_digest = bundle_digest
        self.objective_id = objective_id
        self.covers = covers
        self.input = input
        self.input_digest = input_digest
