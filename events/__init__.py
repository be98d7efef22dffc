"""The OKR domain: event-sourced aggregates, their events, value types and scoring rules.

Pure Python on ``eventsourcing.domain``; nothing here knows about HTTP, SQL or Rego.
"""

from events.change_request import ChangeRequest
from events.cycle import Cycle
from events.errors import DomainError
from events.key_result import KeyResult
from events.objective import Objective
from events.provenance import Stamp
from events.values import ChangeRequestStatus, Commitment, CycleState, Direction, Level

__all__ = [
    "ChangeRequest",
    "ChangeRequestStatus",
    "Commitment",
    "Cycle",
    "CycleState",
    "Direction",
    "DomainError",
    "KeyResult",
    "Level",
    "Objective",
    "Stamp",
]
