"""What every SCIM route shares: who may provision (an okrgov principal holding the admin
role), where the service is (for ``meta.location``), how a write is answered (the event
position, as on ``/v1``), and how a collection is filtered and paged (scim2-models parses
and evaluates the whole filter grammar; the directory is in memory, so a filter is
evaluated over the SCIM resources themselves)."""

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from pydantic import ValidationError
from scim2_models import Context, Error, ListResponse, ResponseParameters, SearchRequest

from services.api.deps import CurrentPrincipal, PlatformDep
from services.api.errors import POSITION_HEADER
from services.api.scim.errors import SCIM_JSON, ScimRefusal, ScimResponse, ScimRoute
from services.api.scim.resources import POLICY, dump
from services.application.ledger_base import Recorded
from services.application.principals import Principal, Role
from services.bootstrap import Platform

PREFIX = "/scim/v2"
#: The most resources one page holds (announced as ``filter.maxResults``).
MAX_RESULTS = 200


_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "schemas": {"type": "array", "items": {"type": "string"}},
        "status": {"type": "string"},
        "scimType": {"type": "string"},
        "detail": {"type": "string"},
    },
}
_DESCRIBED = {
    400: "a payload, filter or patch scim2-models or the directory refuses: scimType "
    "(invalidValue, invalidSyntax, invalidFilter, mutability, noTarget) and the attribute",
    401: "no bearer token, or one that does not verify",
    403: "the token's user does not hold the admin role (or holds compliance)",
    404: "no such user, group, resource type or schema",
    409: "scimType uniqueness: the userName or the group's displayName is taken",
    413: "the request body is larger than OKRGOV_MAX_BODY_BYTES (1 MiB by default); it "
    "was not read and nothing was recorded (answered in the /v1 error shape)",
}
#: The ``responses=`` of the SCIM routes, so the OpenAPI document declares every answer.
SCIM_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {"application/scim+json": {"schema": _ERROR_SCHEMA}},
    }
    for status, description in _DESCRIBED.items()
}


def provisioner(principal: CurrentPrincipal) -> Principal:
    """The caller provisions the directory: an okrgov principal with the admin role (and
    not the compliance role, which never writes). Everything they change is recorded as
    theirs."""
    principal.require(Role.ADMIN, to="provision the directory over SCIM")
    return principal


Provisioner = Annotated[Principal, Depends(provisioner)]


def current_directory(platform: PlatformDep) -> None:
    """Read the directory events any process recorded before answering: a provider that
    creates a person through one API process and patches them through another (at once)
    finds them, instead of waiting for the directory's periodic refresh."""
    platform.directory.refresh(force=True)


#: What every SCIM route depends on: an admin caller, and the directory as recorded.
SCIM_DEPENDENCIES = [Depends(provisioner), Depends(current_directory)]


def response_parameters(request: Request) -> ResponseParameters[Any]:
    """The answer's ``attributes`` or ``excludedAttributes``, checked before the route
    runs, so that a bad parameter never answers 400 after a write was recorded."""
    try:
        shown: ResponseParameters[Any] = ResponseParameters.model_validate(
            dict(request.query_params)
        )
    except ValidationError as exc:  # FastAPI would take it for its own request error
        error = Error.from_validation_error(exc.errors()[0])
        raise ScimRefusal(400, str(error.detail), error.scim_type or "invalidValue") from None
    return shown


#: What of a resource the answer shows.
Shown = Annotated[ResponseParameters[Any], Depends(response_parameters)]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def recorded(platform: Platform, principal: Principal, done: Recorded, response: Response) -> None:
    """Tell the caller where their write was recorded (``X-Okrgov-Position``), so that
    their next ``/v1`` read, and anyone's who sends it as ``X-Okrgov-Min-Position``,
    includes it."""
    if done.position:
        platform.wrote(principal.user, done.position)
        response.headers[POSITION_HEADER] = str(done.position)


def search_of(model: Any, request: Request) -> Any:
    """The query's ``filter``, ``startIndex``, ``count``, ``sortBy``, ``attributes``...
    (a filter that does not parse, or names no attribute of ``model``: invalidFilter)."""
    query = dict(request.query_params)
    return SearchRequest[model].model_validate(query, scim_policy=POLICY)


def page(
    model: Any, resources: Sequence[Any], search: Any, sort: Callable[[Any], Any]
) -> dict[str, Any]:
    """One page of ``resources``, filtered and in order, as a ``ListResponse``."""
    matching = [r for r in resources if search.filter is None or search.filter.match(r)]
    matching.sort(key=sort)
    start = search.start_index_0 or 0
    count = MAX_RESULTS if search.count is None else min(search.count, MAX_RESULTS)
    chosen = matching[start : start + count]
    listed = ListResponse[model](
        total_results=len(matching),
        start_index=start + 1,
        items_per_page=len(chosen),
        resources=chosen,
    )
    return dump(listed, Context.RESOURCE_QUERY_RESPONSE, search)


#: A write's body: SCIM JSON (``application/scim+json``), validated by the route's model.
Payload = Annotated[dict[str, Any], Body(media_type=SCIM_JSON)]


def scim_router(*dependencies: Any) -> APIRouter:
    """A router of SCIM resources: SCIM's answers and errors, for provisioners only
    (``dependencies``: the provisioner check, and what else every route of it needs)."""
    return APIRouter(
        route_class=ScimRoute,
        default_response_class=ScimResponse,
        dependencies=list(dependencies),
        responses=SCIM_ERRORS,
    )
