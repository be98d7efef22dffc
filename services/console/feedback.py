"""What a refused action looks like in the console: the same ``Problem`` the API would
answer (status, rule code, message, the fields at fault), shown on the page the person was
on. Forms are validated by the API's own request schemas (``parsed``), so a value the API
refuses with 422 naming the field is refused here with the same words."""

from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from services.api.errors import Problem, noted_problem

M = TypeVar("M", bound=BaseModel)


def parsed(schema: type[M], form: Mapping[str, Any]) -> M:
    """``form`` (empty fields left out) as ``schema``; a ``RequestValidationError`` (422
    naming each field and rule, as the API answers) when it does not validate."""
    given = {k: v for k, v in form.items() if v not in ("", None)}
    try:
        return schema.model_validate(given)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None


def refusal(request: Request, exc: Exception) -> Problem | None:
    """The 4xx ``Problem`` of a refused action, to show beside the form (a recorded denial
    counts as the person's write, as in the API); ``None`` for a failure of the server's
    own (let it raise: it is a bug, answered as 500)."""
    found = noted_problem(request, exc)
    return found if 400 <= found.status < 500 else None
