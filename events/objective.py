"""An objective: a qualitative aim with an owner, a level, a commitment and an alignment.
After its cycle is locked it changes, or retires, only through an approved change request.

Over 300 lines on purpose: one aggregate, its events and its invariants; splitting an
aggregate would put its rules in two places."""

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from events.change_request import ChangeRequest, require_through_the_lock
from events.errors import (
    AlreadyRetired,
    InvalidValue,
    ReasonRequired,
)
from events.identity import user_id_field
from events.provenance import GovernedAggregate, Stamp
from events.scoring import OBJECTIVE_RULE, score_objective
from events.values import ChangeKind, Commitment, CycleState, Level, TargetKind

#: What defines an objective: a change request after lock may change any of them.
DEFINITION_FIELDS = ("title", "description", "owner", "level", "commitment", "parent_id")


def check_objective_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Definition fields of an objective, each normalised (``parent_id`` as text or None);
    whether a new parent exists and forms no loop is for whoever knows the cycle."""
    unknown = set(changes) - set(DEFINITION_FIELDS)
    if unknown:
        raise InvalidValue(f"these objective fields cannot change: {sorted(unknown)}")
    checked: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "title":
            checked[field] = _require_text(str(value), "title")
        elif field == "description":
            checked[field] = str(value).strip()
        elif field == "owner":
            checked[field] = user_id_field(str(value), "owner")
        elif field == "level":
            checked[field] = Level(value).value
        elif field == "commitment":
            checked[field] = Commitment(value).value
        else:
            checked[field] = None if value is None else str(UUID(str(value)))
    return checked


def _require_text(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidValue(f"{field} must not be empty", field=field)
    return value.strip()


class Objective(GovernedAggregate):
    """What a company, function, team or person aims for in one cycle."""

    class Created(GovernedAggregate.Created):
        # Version 2 added the change request that added it after lock (None before lock).
        class_version = 2

        cycle_id: UUID
        title: str
        description: str
        owner: str
        level: str
        commitment: str
        parent_id: UUID | None
        change_request_id: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["change_request_id"] = None

    class Revised(GovernedAggregate.Event):
        title: str
        description: str

    class Reowned(GovernedAggregate.Event):
        owner: str

    class Realigned(GovernedAggregate.Event):
        parent_id: UUID | None

    class Retired(GovernedAggregate.Event):
        # Version 2 added the change request that retired it after lock.
        class_version = 2

        change_request_id: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["change_request_id"] = None

    class Amended(GovernedAggregate.Event):
        """Definition fields changed after lock by an approved change request, with their
        values before (``parent_id`` as text)."""

        changes: dict[str, Any]
        previous: dict[str, Any]
        change_request_id: UUID

    class KeyResultAttached(GovernedAggregate.Event):
        key_result_id: UUID

    class Scored(GovernedAggregate.Event):
        score: float
        rule: str
        rule_version: int
        key_result_scores: dict[str, float]

    @classmethod
    def create(
        cls,
        cycle_id: UUID,
        title: str,
        description: str,
        owner: str,
        level: Level,
        commitment: Commitment,
        parent_id: UUID | None,
        stamp: Stamp,
        change_request: ChangeRequest | None = None,
    ) -> "Objective":
        """A new objective; after lock, ``change_request`` is the approved request that
        adds it (the cycle checks it when registering the objective)."""
        return cls(
            cycle_id=cycle_id,
            title=_require_text(title, "title"),
            description=description.strip(),
            owner=user_id_field(owner, "owner"),
            level=Level(level).value,
            commitment=Commitment(commitment).value,
            parent_id=parent_id,
            change_request_id=change_request.id if change_request else None,
            **stamp.fields(change_request.reason if change_request else None),
        )

    @event(Created)
    def __init__(
        self,
        cycle_id: UUID,
        title: str,
        description: str,
        owner: str,
        level: str,
        commitment: str,
        parent_id: UUID | None,
        change_request_id: UUID | None,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.cycle_id = cycle_id
        self.title = title
        self.description = description
        self.owner = owner
        self.level = Level(level)
        self.commitment = Commitment(commitment)
        self.parent_id = parent_id
        self.key_result_ids: list[UUID] = []
        self.retired = False
        self.score: float | None = None

    def _require_active(self) -> None:
        if self.retired:
            raise AlreadyRetired(f"objective {self.id} is retired")

    def _require_changeable(
        self,
        kind: ChangeKind,
        cycle_state: CycleState,
        change_request: ChangeRequest | None = None,
    ) -> None:
        """Live, in an open cycle, and after lock only through an approved request for
        exactly this change of this objective."""
        self._require_active()
        require_through_the_lock(
            cycle_state, change_request, kind, TargetKind.OBJECTIVE, self.id,
            what="an objective",
        )  # fmt: skip

    @property
    def definition(self) -> dict[str, Any]:
        """The definition fields as a change request names them (``parent_id`` as text)."""
        return {
            "title": self.title,
            "description": self.description,
            "owner": self.owner,
            "level": self.level.value,
            "commitment": self.commitment.value,
            "parent_id": str(self.parent_id) if self.parent_id else None,
        }

    def revise(
        self,
        title: str | None,
        description: str | None,
        reason: str | None,
        stamp: Stamp,
        cycle_state: CycleState,
    ) -> None:
        self._require_changeable(ChangeKind.REVISE, cycle_state)
        new_title = self.title if title is None else _require_text(title, "title")
        new_description = self.description if description is None else description.strip()
        self._revised(title=new_title, description=new_description, **stamp.fields(reason))

    def reown(self, owner: str, reason: str | None, stamp: Stamp, cycle_state: CycleState) -> None:
        self._require_changeable(ChangeKind.REVISE, cycle_state)
        self._reowned(owner=user_id_field(owner, "owner"), **stamp.fields(_why(reason)))

    def realign(
        self, parent_id: UUID | None, reason: str | None, stamp: Stamp, cycle_state: CycleState
    ) -> None:
        self._require_changeable(ChangeKind.REVISE, cycle_state)
        if parent_id == self.id:
            raise InvalidValue("an objective cannot align under itself", field="parent_id")
        self._realigned(parent_id=parent_id, **stamp.fields(_why(reason)))

    def retire(
        self,
        reason: str | None,
        stamp: Stamp,
        cycle_state: CycleState,
        change_request: ChangeRequest | None = None,
    ) -> None:
        self._require_changeable(ChangeKind.RETIRE, cycle_state, change_request)
        self._retired(
            change_request_id=change_request.id if change_request else None,
            **stamp.fields(_why(reason)),
        )

    def amend(
        self,
        changes: dict[str, Any],
        stamp: Stamp,
        cycle_state: CycleState,
        change_request: ChangeRequest,
    ) -> None:
        """Apply an approved change request's changes to the definition (after lock)."""
        self._require_changeable(ChangeKind.REVISE, cycle_state, change_request)
        proposed = check_objective_changes(changes)
        if proposed.get("parent_id") == str(self.id):
            raise InvalidValue("an objective cannot align under itself", field="parent_id")
        current = self.definition
        changed = {k: v for k, v in proposed.items() if current[k] != v}
        self._amended(
            changes=changed,
            previous={k: current[k] for k in changed},
            change_request_id=change_request.id,
            **stamp.fields(change_request.reason),
        )

    def attach_key_result(self, key_result_id: UUID, stamp: Stamp) -> None:
        self._require_active()
        self._key_result_attached(key_result_id=key_result_id, **stamp.fields())

    def record_score(self, key_result_scores: dict[str, float], stamp: Stamp) -> None:
        self._scored(
            score=score_objective(list(key_result_scores.values())),
            rule=OBJECTIVE_RULE.name,
            rule_version=OBJECTIVE_RULE.version,
            key_result_scores=key_result_scores,
            **stamp.fields(),
        )

    @event(Revised)
    def _revised(
        self, title: str, description: str, actor: str, correlation_id: str, reason: str | None
    ) -> None:
        self.title = title
        self.description = description

    @event(Reowned)
    def _reowned(self, owner: str, actor: str, correlation_id: str, reason: str | None) -> None:
        self.owner = owner

    @event(Realigned)
    def _realigned(
        self, parent_id: UUID | None, actor: str, correlation_id: str, reason: str | None
    ) -> None:
        self.parent_id = parent_id

    @event(Retired)
    def _retired(
        self, change_request_id: UUID | None, actor: str, correlation_id: str, reason: str | None
    ) -> None:
        self.retired = True

    @event(Amended)
    def _amended(
        self,
        changes: dict[str, Any],
        previous: dict[str, Any],
        change_request_id: UUID,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        for field, value in changes.items():
            if field == "level":
                self.level = Level(value)
            elif field == "commitment":
                self.commitment = Commitment(value)
            elif field == "parent_id":
                self.parent_id = UUID(value) if value else None
            else:
                setattr(self, field, value)

    @event(KeyResultAttached)
    def _key_result_attached(
        self, key_result_id: UUID, actor: str, correlation_id: str, reason: str | None
    ) -> None:
        self.key_result_ids.append(key_result_id)

    @event(Scored)
    def _scored(
        self,
        score: float,
        rule: str,
        rule_version: int,
        key_result_scores: dict[str, float],
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.score = score


def _why(reason: str | None) -> str:
    """Re-owning, re-aligning and retiring change who answers for what: say why."""
    if reason is None or not reason.strip():
        raise ReasonRequired("this change needs a reason")
    return reason.strip()
