"""``/scim/v2/Users``: the people of the directory, provisioned by the identity provider.
A user's ``id`` is their okrgov user id (the canonical ``userName``), which never changes:
a ``userName`` that names someone else is refused (``mutability``).

``DELETE`` deactivates: the directory keeps the person, inactive, because the record
(objectives they own, decisions, the audit trail) names them; a deactivated person can
neither sign in nor act, and ``GET`` still shows them with ``active: false``. A
``PATCH``/``PUT`` with ``active: true`` brings them back."""

from collections.abc import Iterable, Sequence
from typing import Any

import structlog
from fastapi import Request, Response
from scim2_models import Context, PatchOp, ResponseParameters, User
from scim2_models.path import CompareOperator, Comparison

from events.identity import canonical_user_id
from services.api.deps import PlatformDep
from services.api.scim.common import (
    SCIM_DEPENDENCIES,
    Payload,
    Provisioner,
    Shown,
    base_url,
    page,
    recorded,
    scim_router,
    search_of,
)
from services.api.scim.errors import ScimRefusal, ScimResponse
from services.api.scim.resources import (
    POLICY,
    ScimUser,
    details_of,
    dump,
    to_user,
    user_location,
)
from services.application.directory import Directory, GroupRecord
from services.application.ledger_base import Recorded
from services.application.people import Person
from services.application.principals import Principal
from services.bootstrap import Platform

log = structlog.get_logger(__name__)

router = scim_router(*SCIM_DEPENDENCIES)


def _user(
    directory: Directory,
    person: Person,
    request: Request,
    groups: Sequence[GroupRecord] | None = None,
) -> Any:
    """The SCIM user of a person (``groups``: the directory's, when already read)."""
    every = directory.groups() if groups is None else groups
    theirs = [g for g in every if person.user_id in g.members]
    return to_user(person, theirs, base_url(request))


def _person(directory: Directory, user_id: str) -> Person:
    try:
        person = directory.find(canonical_user_id(user_id))
    except ValueError:
        person = None
    if person is None:
        raise ScimRefusal(404, f"no user {user_id!r}")
    return person


def _answer(
    platform: Platform,
    user_id: str,
    request: Request,
    shown: ResponseParameters[Any],
    context: Context,
    status: int = 200,
) -> ScimResponse:
    person = _person(platform.directory, user_id)
    body = dump(_user(platform.directory, person, request), context, shown)
    return ScimResponse(body, status_code=status)


def _same_user(user_id: str, user_name: str | None) -> None:
    if user_name is not None and canonical_user_id(user_name) != user_id:
        raise ScimRefusal(
            400, f"userName is the okrgov user id {user_id!r} and cannot change", "mutability"
        )


def _apply(
    platform: Platform,
    principal: Principal,
    person: Person,
    details: dict[str, str],
    active: bool | None,
) -> Recorded:
    """Record what changed of a person: their details, then whether they are active."""
    directory, by = platform.directory, principal.user
    done = directory.update(person.user_id, details, by=by, reason="SCIM")
    if active is not None:
        activated = directory.set_active(person.user_id, active, by=by, reason="SCIM")
        done = activated if activated.position else done
    return done


def _candidates(directory: Directory, scim_filter: Any) -> Iterable[Person]:
    """The people a filter may match: the one it names when it asks for a ``userName`` or
    ``id`` (what a provider sends before each create, so it costs one lookup, not a pass
    over everyone), else everyone; the filter itself still decides."""
    node = scim_filter.ast if scim_filter is not None else None
    if not (
        isinstance(node, Comparison)
        and node.op == CompareOperator.eq
        and node.attr_path.attr.casefold() in ("username", "id")
        and node.attr_path.sub_attr is None
        and node.attr_path.uri in (None, str(User.__schema__))
        and isinstance(node.value, str)
    ):
        return directory.people().values()
    try:
        person = directory.find(canonical_user_id(node.value))
    except ValueError:
        return []
    return [person] if person is not None else []


@router.get("/Users")
def list_users(platform: PlatformDep, request: Request) -> dict[str, Any]:
    """People, filtered (``userName eq "mo@example.com"``, ``externalId eq "..."``, any
    SCIM filter), by user id, paged by ``startIndex`` and ``count``."""
    search = search_of(ScimUser, request)
    directory = platform.directory
    groups = directory.groups()
    people = _candidates(directory, search.filter)
    users = [_user(directory, p, request, groups) for p in people]
    return page(ScimUser, users, search, lambda u: u.id)


@router.get("/Users/{user_id:path}")
def get_user(user_id: str, platform: PlatformDep, request: Request, shown: Shown) -> ScimResponse:
    return _answer(platform, user_id, request, shown, Context.RESOURCE_QUERY_RESPONSE)


@router.post("/Users", status_code=201)
def create_user(
    body: Payload,
    platform: PlatformDep,
    principal: Provisioner,
    request: Request,
    shown: Shown,
) -> ScimResponse:
    """A new person (409 ``uniqueness`` when the user id is in the directory already)."""
    user = ScimUser.model_validate(
        body, scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY
    )
    user_id = canonical_user_id(user.user_name or "")
    directory, by = platform.directory, principal.user
    done: Recorded = directory.provision(user_id, details_of(user), by=by, reason="SCIM")
    if user.active is False:
        done = directory.set_active(user_id, False, by=by, reason="SCIM")
    log.info("scim.user_created", user=user_id, by=by)
    answer = _answer(platform, user_id, request, shown, Context.RESOURCE_CREATION_RESPONSE, 201)
    answer.headers["Location"] = user_location(base_url(request), user_id)
    recorded(platform, principal, done, answer)
    return answer


@router.put("/Users/{user_id:path}")
def replace_user(
    user_id: str,
    body: Payload,
    platform: PlatformDep,
    principal: Provisioner,
    request: Request,
    shown: Shown,
) -> ScimResponse:
    """The person as the payload says: what it leaves out is cleared (``active`` left out
    stays as it is)."""
    person = _person(platform.directory, user_id)
    user = ScimUser.model_validate(
        body, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY
    )
    _same_user(person.user_id, user.user_name)
    done = _apply(platform, principal, person, details_of(user), user.active)
    log.info("scim.user_replaced", user=person.user_id, by=principal.user)
    answer = _answer(
        platform, person.user_id, request, shown, Context.RESOURCE_REPLACEMENT_RESPONSE
    )
    recorded(platform, principal, done, answer)
    return answer


@router.patch("/Users/{user_id:path}")
def patch_user(
    user_id: str,
    body: Payload,
    platform: PlatformDep,
    principal: Provisioner,
    request: Request,
    shown: Shown,
) -> ScimResponse:
    """Change some of a person: ``add``, ``replace``, ``remove``, with or without a path
    (``{"op": "Replace", "path": "active", "value": "False"}`` as Entra ID sends it,
    ``{"op": "replace", "value": {"active": false}}`` as Okta does)."""
    directory = platform.directory
    person = _person(directory, user_id)
    patch = PatchOp[ScimUser].model_validate(
        body, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
    )
    user = _user(directory, person, request)
    patch.patch(user, scim_policy=POLICY)
    _same_user(person.user_id, user.user_name)
    active = None if user.active is None else bool(user.active)
    done = _apply(platform, principal, person, details_of(user, person.name), active)
    log.info("scim.user_patched", user=person.user_id, by=principal.user)
    answer = _answer(platform, person.user_id, request, shown, Context.RESOURCE_PATCH_RESPONSE)
    recorded(platform, principal, done, answer)
    return answer


@router.delete("/Users/{user_id:path}", status_code=204)
def delete_user(user_id: str, platform: PlatformDep, principal: Provisioner) -> Response:
    """Deactivate the person: the directory keeps them (the record names them), inactive;
    they can no longer sign in nor act. Deleting an inactive person changes nothing."""
    person = _person(platform.directory, user_id)
    done = platform.directory.set_active(person.user_id, False, by=principal.user, reason="SCIM")
    log.info("scim.user_deactivated", user=person.user_id, by=principal.user)
    answer = Response(status_code=204)
    recorded(platform, principal, done, answer)
    return answer
