"""SCIM's own error answers (RFC 7644 §3.12: ``{"schemas": [Error], "status", "scimType",
"detail"}`` as ``application/scim+json``) for everything a SCIM route refuses: a payload
scim2-models rejects, a field the directory refuses, a missing or refused token, an
unknown person or group. Provisioning clients (Entra ID, Okta) read only this shape, so
the routes under ``/scim/v2`` never answer in the ``/v1`` error shape, and never a bare
500."""

from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from scim2_models import Error, SCIMException
from starlette.exceptions import HTTPException

from events.errors import DomainError, NotFound, RuleKind
from events.identity import InvalidUserId
from services.api.errors import Unauthenticated
from services.api.scim.resources import attribute_of
from services.application.errors import Conflict, Forbidden

SCIM_JSON = "application/scim+json"

log = structlog.get_logger(__name__)


class ScimResponse(JSONResponse):
    media_type = SCIM_JSON


class ScimRefusal(Exception):
    """A refusal a route states itself, with its SCIM ``scimType``."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def error_response(
    status: int, detail: str, scim_type: str | None = None, headers: dict[str, str] | None = None
) -> ScimResponse:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump()
    return ScimResponse(body, status_code=status, headers=headers)


def _from_error(error: Error) -> ScimResponse:
    return ScimResponse(error.model_dump(), status_code=int(error.status or 400))


#: Refusals whose message is the exception's own: their status and ``scimType``.
_PLAIN: tuple[tuple[type[Exception], int, str | None], ...] = (
    (Forbidden, 403, None),
    (NotFound, 404, None),
    (Conflict, 409, "uniqueness"),
)


def answer(exc: Exception) -> ScimResponse:
    """The SCIM error answer of an exception a SCIM route raised."""
    if isinstance(exc, ScimRefusal):
        return error_response(exc.status, exc.detail, exc.scim_type)
    if isinstance(exc, SCIMException):
        return _from_error(exc.to_error())
    if isinstance(exc, ValidationError):
        return _from_error(Error.from_validation_error(exc.errors()[0]))
    if isinstance(exc, RequestValidationError | HTTPException | Unauthenticated):
        return _request_refusal(exc)
    for kind, status, scim_type in _PLAIN:
        if isinstance(exc, kind):
            return error_response(status, str(exc), scim_type)
    if isinstance(exc, InvalidUserId):
        return error_response(400, f"userName is not a user id: {exc}", "invalidValue")
    if isinstance(exc, DomainError):
        status = 409 if exc.kind == RuleKind.STATE else 400
        detail = f"{attribute_of(exc.field)}: {exc.message}"
        return error_response(status, detail, "invalidValue" if status == 400 else None)
    log.exception("scim.failed")
    return error_response(500, "the server failed; quote the X-Correlation-Id of this answer")


def _request_refusal(exc: Exception) -> ScimResponse:
    """A request refused before the route ran: no token, or a body that is no JSON object."""
    if isinstance(exc, Unauthenticated):
        return error_response(401, str(exc), headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, RequestValidationError):
        return error_response(400, _request_error(exc), "invalidSyntax")
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:
        return error_response(400, "the body is not JSON", "invalidSyntax")
    return error_response(exc.status_code, str(exc.detail))


def _request_error(exc: RequestValidationError) -> str:
    """What is wrong with the request as decoded (the body is no JSON object, most often)."""
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ("body",)))
    return f"{where}: {first.get('msg', 'not valid')}"


class ScimRoute(APIRoute):
    """A route whose every refusal, the bearer check and the body's decoding included,
    answers as a SCIM error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def scim_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every refusal is a SCIM error, a failure a 500 one
                return answer(exc)

        return scim_handler
