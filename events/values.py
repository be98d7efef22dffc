"""Value types of the OKR vocabulary, stored in events by their string value."""

from enum import StrEnum


class CycleState(StrEnum):
    PLANNING = "planning"
    LOCKED = "locked"
    CLOSED = "closed"
    SEALED = "sealed"


#: A cycle in these states is over: nothing in it changes any more.
ENDED_STATES = frozenset({CycleState.CLOSED, CycleState.SEALED})


class Level(StrEnum):
    COMPANY = "company"
    FUNCTION = "function"
    TEAM = "team"
    INDIVIDUAL = "individual"


class Commitment(StrEnum):
    COMMITTED = "committed"
    ASPIRATIONAL = "aspirational"


class Direction(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"
    MILESTONE = "milestone"


class ChangeRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    APPLIED = "applied"
