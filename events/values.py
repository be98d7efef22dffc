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


class ChangeKind(StrEnum):
    """What a change request asks for."""

    REVISE = "revise"
    """Change fields of an existing key result or objective."""
    RETIRE = "retire"
    """Retire an existing key result or objective."""
    ADD_KEY_RESULT = "add_key_result"
    """Add a key result to an objective of a locked cycle."""
    ADD_OBJECTIVE = "add_objective"
    """Add an objective to a locked cycle."""


class TargetKind(StrEnum):
    """What a change request is about: the key result or objective it changes, the
    objective that gets a new key result, the cycle that gets a new objective."""

    KEY_RESULT = "key_result"
    OBJECTIVE = "objective"
    CYCLE = "cycle"
