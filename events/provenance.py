"""Who acted and under which correlation id: carried by every event we record. Every
okrgov aggregate takes its events' timestamps and its new ids from ``events.clock``
(real outside ``clock.at``/``clock.seeded_ids``, simulated inside them)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from events import clock
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

    @staticmethod
    def create_id(*_: Any, **__: Any) -> UUID:
        """A new id (eventsourcing asks when none is given): ``events.clock``'s, random
        or seeded."""
        return clock.new_id()

    class Event(Aggregate.Event):
        actor: str
        correlation_id: str
        reason: str | None

        @staticmethod
        def create_timestamp() -> datetime:
            """When the event happened: ``events.clock.now()``, real or simulated."""
            return clock.now()

    class Created(Aggregate.Created, Event):
        pass
