"""Who acted and under which correlation id: carried by every event we record."""

from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate

from events.identity import is_canonical_user_id


@dataclass(frozen=True)
class Stamp:
    """The acting principal and the correlation id of the request or command."""

    actor: str
    correlation_id: str

    def __post_init__(self) -> None:
        # Every recorded actor is one spelling of one person (events.identity).
        if not is_canonical_user_id(self.actor):
            raise ValueError(f"the actor {self.actor!r} is not a canonical user id")

    def fields(self, reason: str | None = None) -> dict[str, Any]:
        return {"actor": self.actor, "correlation_id": self.correlation_id, "reason": reason}


class GovernedAggregate(Aggregate):
    """Base of every okrgov aggregate: each event names its actor, correlation id, reason."""

    class Event(Aggregate.Event):
        actor: str
        correlation_id: str
        reason: str | None

    class Created(Aggregate.Created, Event):
        pass
