"""An objective: a qualitative aim with an owner, a level, a commitment and an alignment."""

from uuid import UUID

from eventsourcing.domain import event

from events.errors import AlreadyRetired, InvalidValue, ReasonRequired
from events.provenance import GovernedAggregate, Stamp
from events.scoring import OBJECTIVE_RULE, score_objective
from events.values import Commitment, Level


def _require_text(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidValue(f"{field} must not be empty", field=field)
    return value.strip()


class Objective(GovernedAggregate):
    """What a company, function, team or person aims for in one cycle."""

    class Created(GovernedAggregate.Created):
        cycle_id: UUID
        title: str
        description: str
        owner: str
        level: str
        commitment: str
        parent_id: UUID | None

    class Revised(GovernedAggregate.Event):
        title: str
        description: str

    class Reowned(GovernedAggregate.Event):
        owner: str

    class Realigned(GovernedAggregate.Event):
        parent_id: UUID | None

    class Retired(GovernedAggregate.Event):
        pass

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
    ) -> "Objective":
        return cls(
            cycle_id=cycle_id,
            title=_require_text(title, "title"),
            description=description.strip(),
            owner=_require_text(owner, "owner"),
            level=Level(level).value,
            commitment=Commitment(commitment).value,
            parent_id=parent_id,
            **stamp.fields(),
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

    def revise(
        self, title: str | None, description: str | None, reason: str | None, stamp: Stamp
    ) -> None:
        self._require_active()
        new_title = self.title if title is None else _require_text(title, "title")
        new_description = self.description if description is None else description.strip()
        self._revised(title=new_title, description=new_description, **stamp.fields(reason))

    def reown(self, owner: str, reason: str | None, stamp: Stamp) -> None:
        self._require_active()
        self._reowned(owner=_require_text(owner, "owner"), **stamp.fields(_why(reason)))

    def realign(self, parent_id: UUID | None, reason: str | None, stamp: Stamp) -> None:
        self._require_active()
        if parent_id == self.id:
            raise InvalidValue("an objective cannot align under itself", field="parent_id")
        self._realigned(parent_id=parent_id, **stamp.fields(_why(reason)))

    def retire(self, reason: str | None, stamp: Stamp) -> None:
        self._require_active()
        self._retired(**stamp.fields(_why(reason)))

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
    def _retired(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.retired = True

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
