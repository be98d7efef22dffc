"""Objectives and key results listed by owner and cycle: what ``GET /v1/objectives``,
``GET /v1/key-results`` and the console's "My work" page answer (one function each, so
the page and the API read the same list). Filtered by the database (``find_where``), in
the order they were created."""

from uuid import UUID

from projections.documents import Document
from projections.okr_state import KEY_RESULT, OBJECTIVE
from projections.queries import OkrQueries


def _scope(okr: OkrQueries, owner: str | None, cycle_id: UUID | None) -> dict[str, str]:
    """The equal-fields filter; an unknown cycle is ``NotFound`` (404), as everywhere."""
    equal = {}
    if cycle_id is not None:
        equal["cycle_id"] = okr.cycle(cycle_id)["id"]
    if owner is not None:
        equal["owner"] = owner
    return equal


def objectives(okr: OkrQueries, owner: str | None, cycle_id: UUID | None) -> list[Document]:
    """Objectives (of ``owner``, of the cycle ``cycle_id``), each with its key results."""
    if owner is None:
        return okr.objectives(cycle_id)
    found = okr.view.find_where(OBJECTIVE, _scope(okr, owner, cycle_id))
    return [{**o, "key_results": okr.view.find(KEY_RESULT, o["id"])} for o in found]


def key_results(okr: OkrQueries, owner: str | None, cycle_id: UUID | None) -> list[Document]:
    """Key results (of ``owner``, of the cycle ``cycle_id``)."""
    return okr.view.find_where(KEY_RESULT, _scope(okr, owner, cycle_id))


#: The owner filter's word for the caller.
ME = "me"


def owner_asked(owner: str | None, caller: str) -> str | None:
    """The user id an ``owner`` filter names: ``me`` is the caller."""
    return caller if owner == ME else owner
