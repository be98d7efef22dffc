"""A guardrail decision: what the policies said about one command, allowed or not.

Recorded in the same save as the command's events when allowed, and on its own when the
command was denied or the policy engine failed, so every attempt leaves a trace."""

from uuid import UUID

from eventsourcing.domain import event

from events.provenance import GovernedAggregate, Stamp

ALLOWED, DENIED, ERROR = "allowed", "denied", "error"


class Decision(GovernedAggregate):
    """The verdict of the active guardrail policy on one attempted command."""

    class Recorded(GovernedAggregate.Created):
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
    ) -> "Decision":
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
