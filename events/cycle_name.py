"""A cycle's name, reserved for it: cycle names are unique.

One aggregate per name as names are compared, whose id is derived from the compared form
(``uuid5``), created in the same save as the cycle it names. Two cycles opened at once
under one name, in one process or in several, both try to record version 1 of the same
aggregate: the store's uniqueness of (aggregate id, version) lets exactly one in, on
SQLite and PostgreSQL alike, and the other's command, retried, finds the name taken.

Names compare as people read them (``compared``): Unicode compatibility forms folded
(NFKC: full-width digits are digits), case folded, white space trimmed at both ends
and each run of it inside counted as one space. So "2027-q2 " is the name "2027-Q2".

Cycles opened before names were reserved have no reservation; the command that opens a
cycle also compares its name with theirs (``services.application.cycles``).
"""

import unicodedata
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from events.errors import DomainError, RuleKind
from events.provenance import GovernedAggregate, Stamp

#: The namespace of reservation ids: ``uuid5(NAMESPACE, compared(name))``.
NAMESPACE = uuid5(NAMESPACE_URL, "okrgov:cycle-names")

#: How names compare, as the refusal says it.
COMPARISON = (
    "names compare ignoring case, Unicode compatibility forms (NFKC) and extra white space "
    "(trimmed at both ends, runs inside counted as one space)"
)


def compared(name: str) -> str:
    """The form in which two cycle names are the same name or not."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


def reservation_id(name: str) -> UUID:
    """The id of the reservation of this name (any spelling that compares the same)."""
    return uuid5(NAMESPACE, compared(name))


class CycleNameTaken(DomainError):
    """Another cycle already has this name (as names compare)."""

    rule = "cycle_name_taken"
    kind = RuleKind.STATE
    field = "name"

    def __init__(
        self, name: str, cycle_id: UUID, existing: str, starts_on: date, ends_on: date
    ) -> None:
        self.cycle_id = cycle_id
        super().__init__(
            f"the cycle name {name!r} is taken by cycle {existing!r} ({cycle_id}, "
            f"{starts_on.isoformat()} to {ends_on.isoformat()}); {COMPARISON}: "
            "choose another name"
        )


class CycleName(GovernedAggregate):
    """The reservation of one cycle name, for the cycle it names."""

    class Reserved(GovernedAggregate.Created):
        name: str
        compared: str
        cycle_id: UUID

    @staticmethod
    def create_id(compared: str) -> UUID:
        """The reservation's id follows from the compared name alone."""
        return uuid5(NAMESPACE, compared)

    @classmethod
    def reserve(cls, name: str, cycle_id: UUID, stamp: Stamp) -> "CycleName":
        return cls(name=name, compared=compared(name), cycle_id=cycle_id, **stamp.fields())

    @event(Reserved)
    def __init__(
        self,
        name: str,
        compared: str,
        cycle_id: UUID,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.name = name
        self.compared = compared
        self.cycle_id = cycle_id
