"""The typed key-result definition is the one list of definition fields: the snapshot's
share of it is inside the digest's format, so it is pinned here; the events still record
the shape they always have."""

from dataclasses import FrozenInstanceError
from typing import Any

import pytest

from events.errors import InvalidValue, NotMeasurable
from events.key_result import OPTIONAL_FIELDS, REVISABLE, new_definition
from events.key_result_definition import (
    DEFINITION_FIELDS,
    FIELD_NAMES,
    Group,
    KeyResultDefinition,
)
from events.values import Direction
from projections.snapshot import _KEY_RESULT_FIELDS, SNAPSHOT_FORMAT

#: The key result's fields in the document digested under ``okrgov.snapshot/1``, in
#: order. A change here changes the digest of every snapshot: it is a new format.
SNAPSHOT_1_KEY_RESULT_FIELDS = (
    "id", "title", "owner", "unit", "baseline", "target", "direction", "pay_linked",
    "risk_domain", "risk_rating", "guardrail_metric", "status", "check_in_count",
)  # fmt: skip


def _given(**changes: Any) -> dict[str, Any]:
    return {
        "title": "  LP reporting turnaround ",
        "owner": " Tom ",
        "unit": "days",
        "baseline": 15,
        "target": 8,
        "direction": "decrease",
        "pay_linked": 0,
        **changes,
    }


def test_the_snapshot_fields_are_the_definition_in_the_digested_order() -> None:
    # /2 added the last check-in's effective_on; the key result's own fields are /1's.
    assert SNAPSHOT_FORMAT == "okrgov.snapshot/2"
    assert _KEY_RESULT_FIELDS == SNAPSHOT_1_KEY_RESULT_FIELDS
    assert _KEY_RESULT_FIELDS[1:-2] == FIELD_NAMES


def test_the_derived_lists() -> None:
    assert REVISABLE == FIELD_NAMES
    assert OPTIONAL_FIELDS == ("risk_domain", "risk_rating", "guardrail_metric")
    assert [f.name for f in DEFINITION_FIELDS if f.group is Group.MEASURE] == [
        "title", "owner", "unit", "baseline", "target", "direction",
    ]  # fmt: skip


def test_a_new_definition_is_recorded_as_before() -> None:
    recorded = new_definition(_given())
    assert recorded == {
        "risk_domain": None,
        "risk_rating": None,
        "guardrail_metric": None,
        "title": "LP reporting turnaround",
        "owner": "tom",
        "unit": "days",
        "baseline": 15.0,
        "target": 8.0,
        "direction": "decrease",
        "pay_linked": False,
    }
    # The key order is the bytes the Added event records: optional fields first, as ever.
    assert list(recorded) == [*OPTIONAL_FIELDS, "title", "owner", "unit", "baseline",
                              "target", "direction", "pay_linked"]  # fmt: skip
    assert all(type(v) is not Direction for v in recorded.values())


def test_the_definition_reads_typed_and_as_the_recorded_mapping() -> None:
    definition = KeyResultDefinition.checked(_given(risk_rating=2))
    assert definition.direction is Direction.DECREASE
    assert definition.baseline == 15.0 and definition.owner == "tom"
    assert dict(definition)["direction"] == "decrease"
    assert list(definition) == list(FIELD_NAMES)
    assert KeyResultDefinition.as_recorded(dict(definition)) == definition
    with pytest.raises(FrozenInstanceError):
        definition.target = 1.0  # type: ignore[misc]


def test_a_revision_applies_the_recorded_changes() -> None:
    definition = KeyResultDefinition.checked(_given())
    revised = definition.revised({"target": 10.0, "direction": "decrease"})
    assert revised.target == 10.0 and revised.direction is Direction.DECREASE
    assert definition.target == 8.0


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"title": "  "}, InvalidValue, "title"),
        ({"unit": ""}, InvalidValue, "unit"),
        ({"target": 15}, NotMeasurable, "target"),
        ({"target": 20}, NotMeasurable, "target"),
        ({"direction": "increase"}, NotMeasurable, "target"),
        ({"risk_rating": 6}, InvalidValue, "risk_rating"),
    ],
)
def test_the_rules(changes: dict[str, Any], error: type[Exception], field: str) -> None:
    with pytest.raises(error) as raised:
        KeyResultDefinition.checked(_given(**changes))
    assert getattr(raised.value, "field", None) == field


def test_unknown_and_missing_fields_are_refused() -> None:
    with pytest.raises(InvalidValue, match="unknown key result fields"):
        new_definition(_given(colour="red"))
    with pytest.raises(InvalidValue, match="needs baseline") as raised:
        new_definition({k: v for k, v in _given().items() if k != "baseline"})
    assert raised.value.field == "baseline"


def test_the_api_schemas_carry_the_definition_fields_in_order() -> None:
    from services.api.schemas.key_results import KeyResultChanges, KeyResultDefinition, NewKeyResult

    assert tuple(NewKeyResult.model_fields) == FIELD_NAMES
    assert tuple(KeyResultChanges.model_fields) == FIELD_NAMES
    assert tuple(KeyResultDefinition.model_fields) == (*FIELD_NAMES, "status", "check_in_count")
    required = {name for name, f in NewKeyResult.model_fields.items() if f.is_required()}
    assert required == set(FIELD_NAMES) - set(OPTIONAL_FIELDS)
    assert not any(f.is_required() for f in KeyResultChanges.model_fields.values())


def test_the_csv_shows_the_measure_with_its_numbers_last() -> None:
    from services.reports.snapshot_csv import CSV_COLUMNS

    assert CSV_COLUMNS[5:11] == ("key_result", "owner", "unit", "direction", "baseline", "target")
