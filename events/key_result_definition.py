"""The definition of a key result, typed: its fields, the kind of value each holds, which
a definition may leave out and which a revision may change.

This is the one list of a key result's definition fields. The events check definitions
with it; the API's request and document schemas, the snapshot document, the CSV export
and the demo take their fields from ``DEFINITION_FIELDS`` rather than naming them again,
so a field added here reaches all of them (and a test pins the snapshot's share of it,
because that share is inside the snapshot digest's format).

The events themselves still carry a definition as a plain mapping of these names (an
``Added`` event's ``definition``, a ``Revised`` event's ``changes``): that is the shape
already stored, and ``KeyResultDefinition`` reads as that mapping too."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import Enum, StrEnum
from typing import Any

from events.errors import InvalidValue, NotMeasurable
from events.identity import user_id_field
from events.values import Direction


class Kind(StrEnum):
    """The kind of value a field holds; the API gives each kind its constraints."""

    TITLE = "title"  # short text that names the key result
    USER = "user"  # a user id, kept in its canonical form
    LABEL = "label"  # a short label: a unit, a risk domain, a metric
    NUMBER = "number"  # a metric value
    DIRECTION = "direction"  # which way is better (``Direction``)
    FLAG = "flag"  # yes or no
    RATING = "rating"  # a whole number from 1 to 5


class Group(StrEnum):
    """What a field is for: the measure itself, or what the guardrails judge it by."""

    MEASURE = "measure"
    GOVERNANCE = "governance"


@dataclass(frozen=True)
class DefinitionField:
    """One field of the definition, as the places that list the fields need it."""

    name: str
    kind: Kind
    group: Group
    optional: bool
    """May be left out of a new definition (it is then None)."""
    revisable: bool
    """A revision or a change request may change it."""


def _spec(kind: Kind, group: Group, revisable: bool = True) -> dict[str, Any]:
    return {"kind": kind, "group": group, "revisable": revisable}


_MEASURE, _GOVERNANCE = Group.MEASURE, Group.GOVERNANCE


@dataclass(frozen=True)
class KeyResultDefinition(Mapping[str, Any]):
    """A key result's definition. The field order is the order of every schema and
    document that shows a definition (and of the snapshot's fields): append, do not
    reorder. Constructing one checks nothing; ``checked`` applies the rules."""

    title: str = field(metadata=_spec(Kind.TITLE, _MEASURE))
    owner: str = field(metadata=_spec(Kind.USER, _MEASURE))
    unit: str = field(metadata=_spec(Kind.LABEL, _MEASURE))
    baseline: float = field(metadata=_spec(Kind.NUMBER, _MEASURE))
    target: float = field(metadata=_spec(Kind.NUMBER, _MEASURE))
    direction: Direction = field(metadata=_spec(Kind.DIRECTION, _MEASURE))
    pay_linked: bool = field(metadata=_spec(Kind.FLAG, _GOVERNANCE))
    risk_domain: str | None = field(default=None, metadata=_spec(Kind.LABEL, _GOVERNANCE))
    risk_rating: int | None = field(default=None, metadata=_spec(Kind.RATING, _GOVERNANCE))
    guardrail_metric: str | None = field(default=None, metadata=_spec(Kind.LABEL, _GOVERNANCE))

    @classmethod
    def checked(cls, values: Mapping[str, Any]) -> "KeyResultDefinition":
        """A complete definition from these values, normalised (text trimmed, the owner
        canonical, numbers as floats), refusing what breaks a rule: ``InvalidValue``, or
        ``NotMeasurable`` when the target does not lie beyond the baseline in its
        direction. The checks run in the order the API has always reported them."""
        title, unit = _text(values, "title"), _text(values, "unit")
        definition = cls(
            title=title,
            owner=user_id_field(str(values["owner"]), "owner"),
            unit=unit,
            baseline=float(values["baseline"]),
            target=float(values["target"]),
            direction=Direction(values["direction"]),
            pay_linked=bool(values["pay_linked"]),
            risk_domain=values.get("risk_domain"),
            risk_rating=values.get("risk_rating"),
            guardrail_metric=values.get("guardrail_metric"),
        )
        definition._require_measurable()
        definition._require_rating()
        return definition

    @classmethod
    def as_recorded(cls, values: Mapping[str, Any]) -> "KeyResultDefinition":
        """The definition an event carries, as it was checked when recorded (not again:
        a rule made stricter later must not stop a stored history from loading)."""
        given = {name: values[name] for name in FIELD_NAMES if name in values}
        return cls(**{**given, "direction": Direction(values["direction"])})

    def revised(self, changes: Mapping[str, Any]) -> "KeyResultDefinition":
        """This definition with a recorded revision's changes applied (not checked again)."""
        if "direction" in changes:
            changes = {**changes, "direction": Direction(changes["direction"])}
        return replace(self, **changes)

    # A definition reads as the mapping its events carry (enums as their values), so
    # ``dict(definition)`` is the recorded shape.
    def __getitem__(self, name: str) -> Any:
        if name not in FIELD_NAMES:
            raise KeyError(name)
        value = getattr(self, name)
        return value.value if isinstance(value, Enum) else value

    def __iter__(self) -> Iterator[str]:
        return iter(FIELD_NAMES)

    def __len__(self) -> int:
        return len(FIELD_NAMES)

    def _require_measurable(self) -> None:
        if self.target == self.baseline:
            raise NotMeasurable("target must differ from baseline", field="target")
        if self.direction == Direction.INCREASE and self.target < self.baseline:
            raise NotMeasurable(
                "an increasing key result needs target above baseline", field="target"
            )
        if self.direction == Direction.DECREASE and self.target > self.baseline:
            raise NotMeasurable(
                "a decreasing key result needs target below baseline", field="target"
            )

    def _require_rating(self) -> None:
        rating = self.risk_rating
        if rating is not None and not (isinstance(rating, int) and 1 <= rating <= 5):
            raise InvalidValue("risk_rating must be an integer from 1 to 5", field="risk_rating")


def _text(values: Mapping[str, Any], name: str) -> str:
    text = str(values[name]).strip()
    if not text:
        raise InvalidValue(f"{name} must not be empty", field=name)
    return text


#: Every definition field, in definition order.
DEFINITION_FIELDS: tuple[DefinitionField, ...] = tuple(
    DefinitionField(
        name=f.name,
        kind=f.metadata["kind"],
        group=f.metadata["group"],
        optional=f.default is None,
        revisable=f.metadata["revisable"],
    )
    for f in fields(KeyResultDefinition)
)
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in DEFINITION_FIELDS)

#: The definition fields a revision or a change request may alter.
REVISABLE: tuple[str, ...] = tuple(f.name for f in DEFINITION_FIELDS if f.revisable)

#: Fields a definition may leave out (they default to None).
OPTIONAL_FIELDS: tuple[str, ...] = tuple(f.name for f in DEFINITION_FIELDS if f.optional)


def fields_of(group: Group) -> tuple[DefinitionField, ...]:
    """The definition fields of one group, in definition order."""
    return tuple(f for f in DEFINITION_FIELDS if f.group == group)
