"""A key result's definition fields as the API takes and shows them, derived from the one
typed definition (``events.key_result_definition``): each kind of field has its type in a
new key result, in a partial update and in a document, and ``with_definition_fields``
adds every definition field, in definition order, to a model. A field added to the
definition reaches the request bodies and the documents without another list to keep."""

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, StrictBool, create_model

from events.key_result_definition import DEFINITION_FIELDS, DefinitionField, Kind
from events.values import Direction
from services.api.schemas.common import (
    DirectionChange,
    FlagChange,
    Label,
    LabelChange,
    Number,
    NumberChange,
    RiskRating,
    Title,
    TitleChange,
    UserChange,
    UserId,
)

M = TypeVar("M", bound=BaseModel)
#: A field as ``create_model`` takes it: its type and its default (``...``: required).
FieldDefinition = tuple[Any, Any]

#: In a new key result: strict, constrained.
_GIVEN: dict[Kind, Any] = {
    Kind.TITLE: Title,
    Kind.USER: UserId,
    Kind.LABEL: Label,
    Kind.NUMBER: Number,
    Kind.DIRECTION: Direction,
    Kind.FLAG: StrictBool,
    Kind.RATING: RiskRating,
}
#: In a partial update, for a field a definition cannot leave out: optional, never null.
_CHANGED: dict[Kind, Any] = {
    Kind.TITLE: TitleChange,
    Kind.USER: UserChange,
    Kind.LABEL: LabelChange,
    Kind.NUMBER: NumberChange,
    Kind.DIRECTION: DirectionChange,
    Kind.FLAG: FlagChange,
}
#: In a document: the value as the read model holds it.
_SHOWN: dict[Kind, Any] = {
    Kind.TITLE: str,
    Kind.USER: str,
    Kind.LABEL: str,
    Kind.NUMBER: float,
    Kind.DIRECTION: Direction,
    Kind.FLAG: bool,
    Kind.RATING: int,
}


def new_field(field: DefinitionField) -> FieldDefinition:
    """A field of a new key result: required, or None when left out."""
    kind = _GIVEN[field.kind]
    return (kind | None, None) if field.optional else (kind, ...)


def change_field(field: DefinitionField) -> FieldDefinition:
    """A field of a partial update: left out keeps it; null clears an optional field."""
    if field.optional:
        return (_GIVEN[field.kind] | None, None)
    return (_CHANGED[field.kind], None)


def document_field(field: DefinitionField) -> FieldDefinition:
    """A field of a document: always present, null for an optional field left out."""
    kind = _SHOWN[field.kind]
    return (kind | None if field.optional else kind, ...)


def with_definition_fields(
    field_of: Callable[[DefinitionField], FieldDefinition],
) -> Callable[[type[M]], type[M]]:
    """A class decorator: the model, with every definition field after its own, typed by
    ``field_of``. The name, docstring and module stay the model's, so the OpenAPI document
    names and describes it as written."""

    def derive(model: type[M]) -> type[M]:
        fields: dict[str, Any] = {f.name: field_of(f) for f in DEFINITION_FIELDS}
        return create_model(
            model.__name__,
            __base__=model,
            __module__=model.__module__,
            __doc__=model.__doc__,
            **fields,
        )

    return derive
