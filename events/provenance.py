"""Who acted and under which correlation id: carried by every event we record."""

from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate


@dataclass(frozen=True)
class Stamp:
    """The acting principal and the correlation id of the request or command."""

    actor: str
    correlation_id: str

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
