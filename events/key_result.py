"""A key result: a measurable outcome with baseline, target and direction, checked in on
weekly and scored at cycle end. After lock it changes only through an approved request.
A check-in records the week it reports (``effective_on``) beside when it was recorded
(its event's timestamp)."""

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import event

from events.change_request import ChangeRequest, require_through_the_lock
from events.errors import AlreadyRetired, CycleClosed, CycleLocked, InvalidValue
from events.key_result_definition import OPTIONAL_FIELDS, REVISABLE, KeyResultDefinition
from events.provenance import GovernedAggregate, Stamp
from events.scoring import KEY_RESULT_RULE, score_key_result
from events.values import ENDED_STATES, ChangeKind, CycleState, Direction, TargetKind
from events.weeks import week_reported

if TYPE_CHECKING:
    from events.cycle import Cycle


def new_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """The complete, checked definition of a new key result (optional fields None), as
    its ``Added`` event records it."""
    unknown = set(definition) - set(REVISABLE)
    if unknown:
        raise InvalidValue(f"unknown key result fields: {sorted(unknown)}")
    missing = set(REVISABLE) - set(OPTIONAL_FIELDS) - set(definition)
    if missing:
        first = sorted(missing)[0]
        raise InvalidValue(f"a key result needs {', '.join(sorted(missing))}", field=first)
    return check_definition({**dict.fromkeys(OPTIONAL_FIELDS), **definition})


def check_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """Normalise a complete key result definition and enforce the measurability rules
    (``KeyResultDefinition.checked``); the answer keeps the keys in the order given, so
    the events record the same bytes they always have."""
    checked = KeyResultDefinition.checked(definition)
    return {name: checked[name] for name in definition}


class KeyResult(GovernedAggregate):
    """A measurable outcome of one objective."""

    class Added(GovernedAggregate.Created):
        # Version 2 added the change request that added it after lock (None before lock).
        class_version = 2

        objective_id: UUID
        cycle_id: UUID
        definition: dict[str, Any]
        change_request_id: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["change_request_id"] = None

    class Revised(GovernedAggregate.Event):
        changes: dict[str, Any]
        previous: dict[str, Any]
        change_request_id: UUID | None

    class Retired(GovernedAggregate.Event):
        change_request_id: UUID | None

    class CheckedIn(GovernedAggregate.Event):
        # Version 2 added the date of the week it reports (ISO), beside the timestamp it
        # was recorded at; a version 1 check-in reported the day it was recorded (UTC).
        class_version = 2

        value: float
        confidence: float
        note: str
        effective_on: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            recorded = state["timestamp"]
            if isinstance(recorded, str):
                recorded = datetime.fromisoformat(recorded)
            state["effective_on"] = recorded.date().isoformat()

    class Scored(GovernedAggregate.Event):
        final_value: float | None
        score: float
        rule: str
        rule_version: int

    @classmethod
    def add(
        cls,
        objective_id: UUID,
        cycle_id: UUID,
        definition: dict[str, Any],
        stamp: Stamp,
        cycle_state: CycleState = CycleState.PLANNING,
        change_request: ChangeRequest | None = None,
    ) -> "KeyResult":
        """A new key result: while planning, or after lock through an approved request
        to add a key result to this objective."""
        require_through_the_lock(
            cycle_state, change_request, ChangeKind.ADD_KEY_RESULT, TargetKind.OBJECTIVE,
            objective_id, what="a key result", locked=CycleLocked,
        )  # fmt: skip
        return cls(
            objective_id=objective_id,
            cycle_id=cycle_id,
            definition=new_definition(definition),
            change_request_id=change_request.id if change_request else None,
            **stamp.fields(change_request.reason if change_request else None),
        )

    @event(Added)
    def __init__(
        self,
        objective_id: UUID,
        cycle_id: UUID,
        definition: dict[str, Any],
        change_request_id: UUID | None,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.objective_id = objective_id
        self.cycle_id = cycle_id
        self.defined = KeyResultDefinition.as_recorded(definition)
        self.retired = False
        self.check_ins: list[tuple[float, float, str]] = []
        self.score: float | None = None

    @property
    def definition(self) -> dict[str, Any]:
        """The definition as its events record it (a copy: change it by revising)."""
        return dict(self.defined)

    # The fields the domain and its callers read most, typed; the rest through ``defined``.
    @property
    def title(self) -> str:
        return self.defined.title

    @property
    def owner(self) -> str:
        return self.defined.owner

    @property
    def baseline(self) -> float:
        return self.defined.baseline

    @property
    def target(self) -> float:
        return self.defined.target

    @property
    def direction(self) -> Direction:
        return self.defined.direction

    @property
    def latest_value(self) -> float | None:
        return self.check_ins[-1][0] if self.check_ins else None

    def proposed(self, changes: dict[str, Any]) -> dict[str, Any]:
        """The definition these changes would give, checked; raises if they break a rule."""
        unknown = set(changes) - set(REVISABLE)
        if unknown:
            raise InvalidValue(f"these fields cannot be revised: {sorted(unknown)}")
        if not changes:
            raise InvalidValue("no changes given", field="changes")
        return check_definition({**self.defined, **changes})

    def revise(
        self,
        changes: dict[str, Any],
        reason: str | None,
        cycle_state: CycleState,
        stamp: Stamp,
        change_request: ChangeRequest | None = None,
    ) -> None:
        self._require_changeable(ChangeKind.REVISE, cycle_state, change_request)
        proposed = self.proposed(changes)
        changed = {k: v for k, v in proposed.items() if self.defined.get(k) != v}
        previous = {k: self.defined.get(k) for k in changed}
        self._revised(
            changes=changed,
            previous=previous,
            change_request_id=change_request.id if change_request else None,
            **stamp.fields(reason),
        )

    def retire(
        self,
        reason: str | None,
        cycle_state: CycleState,
        stamp: Stamp,
        change_request: ChangeRequest | None = None,
    ) -> None:
        self._require_changeable(ChangeKind.RETIRE, cycle_state, change_request)
        self._retired(
            change_request_id=change_request.id if change_request else None,
            **stamp.fields(reason),
        )

    def check_in(
        self,
        value: float,
        confidence: float,
        note: str,
        cycle: "Cycle",
        stamp: Stamp,
        effective_on: date | None = None,
    ) -> None:
        """Record a check-in reporting the week of ``effective_on`` (see
        ``week_reported``) in ``cycle``, this key result's cycle."""
        if cycle.state in ENDED_STATES:
            raise CycleClosed("no check-in on a closed cycle")
        if self.retired:
            raise AlreadyRetired(f"key result {self.id} is retired")
        if not 0.0 <= confidence <= 1.0:
            raise InvalidValue("confidence must be between 0 and 1", field="confidence")
        reported = week_reported(effective_on, cycle.name, cycle.starts_on, cycle.ends_on)
        self._checked_in(
            value=float(value),
            confidence=float(confidence),
            note=note,
            effective_on=reported.isoformat(),
            **stamp.fields(),
        )

    def record_score(self, stamp: Stamp) -> float:
        """Score from the last check-in; a key result never checked in on scores 0."""
        final = self.latest_value
        score = (
            0.0
            if final is None
            else score_key_result(self.baseline, self.target, final, self.direction)
        )
        self._scored(
            final_value=final,
            score=score,
            rule=KEY_RESULT_RULE.name,
            rule_version=KEY_RESULT_RULE.version,
            **stamp.fields(),
        )
        return score

    def _require_changeable(
        self, kind: ChangeKind, cycle_state: CycleState, change_request: ChangeRequest | None
    ) -> None:
        if self.retired:
            raise AlreadyRetired(f"key result {self.id} is retired")
        require_through_the_lock(
            cycle_state, change_request, kind, TargetKind.KEY_RESULT, self.id,
            what="a key result",
        )  # fmt: skip

    @event(Revised)
    def _revised(
        self,
        changes: dict[str, Any],
        previous: dict[str, Any],
        change_request_id: UUID | None,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.defined = self.defined.revised(changes)

    @event(Retired)
    def _retired(
        self, change_request_id: UUID | None, actor: str, correlation_id: str, reason: str | None
    ) -> None:
        self.retired = True

    @event(CheckedIn)
    def _checked_in(
        self,
        value: float,
        confidence: float,
        note: str,
        effective_on: str,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.check_ins.append((value, confidence, note))

    @event(Scored)
    def _scored(
        self,
        final_value: float | None,
        score: float,
        rule: str,
        rule_version: int,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.score = score
