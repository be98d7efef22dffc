"""``/scim/v2/Groups``: the identity provider's groups and their members (by user id, each
a person of the directory). What a group grants is not here: the active guardrail
bundle's role mapping (``identity.role_grants``) says which okrgov roles its members get
when they sign in. A group's ``externalId`` is set when it is created."""

from typing import Any
from uuid import UUID

import structlog
from fastapi import Request, Response
from scim2_models import Context, Group, PatchOp, ResponseParameters

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
from services.api.scim.resources import POLICY, dump, group_location, member_ids, to_group
from services.application.directory import Directory, GroupRecord
from services.bootstrap import Platform

log = structlog.get_logger(__name__)

router = scim_router(*SCIM_DEPENDENCIES)


def _record(directory: Directory, group_id: str) -> GroupRecord:
    try:
        record = directory.group(UUID(group_id))
    except ValueError:
        record = None
    if record is None:
        raise ScimRefusal(404, f"no group {group_id!r}")
    return record


def _group(directory: Directory, record: GroupRecord, request: Request) -> Group:
    return to_group(record, directory.names(), base_url(request))


def _members(directory: Directory, group: Group) -> list[str]:
    """The members' user ids, each a person of the directory (invalidValue otherwise:
    provision the user first; groups of groups are not kept)."""
    people = directory.people()
    members: list[str] = []
    for value in member_ids(group):
        try:
            user = canonical_user_id(value)
        except ValueError:
            user = ""
        if user not in people:
            raise ScimRefusal(400, f"members: no user {value!r} in the directory", "invalidValue")
        members.append(user)
    return members


def _answer(
    platform: Platform,
    group_id: object,
    request: Request,
    shown: ResponseParameters[Any],
    context: Context,
    status: int = 200,
) -> ScimResponse:
    directory = platform.directory
    record = _record(directory, str(group_id))
    body = dump(_group(directory, record, request), context, shown)
    return ScimResponse(body, status_code=status)


def _same_external_id(record: GroupRecord, group: Group) -> None:
    if group.external_id is not None and group.external_id != record.external_id:
        raise ScimRefusal(
            400, "externalId of a group is set when it is created and cannot change", "mutability"
        )


@router.get("/Groups")
def list_groups(platform: PlatformDep, request: Request) -> dict[str, Any]:
    """Groups, filtered (``displayName eq "okrgov-members"``), by name, paged."""
    search = search_of(Group, request)
    directory = platform.directory
    groups = [_group(directory, record, request) for record in directory.groups()]
    return page(Group, groups, search, lambda g: g.display_name or "")


@router.get("/Groups/{group_id}")
def get_group(group_id: str, platform: PlatformDep, request: Request, shown: Shown) -> ScimResponse:
    return _answer(platform, group_id, request, shown, Context.RESOURCE_QUERY_RESPONSE)


@router.post("/Groups", status_code=201)
def create_group(
    body: Payload,
    platform: PlatformDep,
    principal: Provisioner,
    request: Request,
    shown: Shown,
) -> ScimResponse:
    """A new group with its members (409 ``uniqueness`` when the name is taken)."""
    group = Group.model_validate(
        body, scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY
    )
    directory = platform.directory
    done = directory.create_group(
        group.display_name or "",
        _members(directory, group),
        external_id=group.external_id or "",
        by=principal.user,
    )
    log.info("scim.group_created", group=str(done.id), by=principal.user)
    answer = _answer(platform, done.id, request, shown, Context.RESOURCE_CREATION_RESPONSE, 201)
    answer.headers["Location"] = group_location(base_url(request), done.id)
    recorded(platform, principal, done, answer)
    return answer


@router.put("/Groups/{group_id}")
def replace_group(
    group_id: str,
    body: Payload,
    platform: PlatformDep,
    principal: Provisioner,
    request: Request,
    shown: Shown,
) -> ScimResponse:
    """The group as the payload says: its name and exactly the members it lists."""
    directory = platform.directory
    record = _record(directory, group_id)
    group = Group.model_validate(
        body, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY
    )
    _same_external_id(record, group)
    done = directory.change_group(
        record.id,
        by=principal.user,
        name=group.display_name or "",
        members=_members(directory, group),
    )
    log.info("scim.group_replaced", group=group_id, by=principal.user)
    answer = _answer(platform, record.id, request, shown, Context.RESOURCE_REPLACEMENT_RESPONSE)
    recorded(platform, principal, done, answer)
    return answer


@router.patch("/Groups/{group_id}")
def patch_group(
    group_id: str,
    body: Payload,
    platform: PlatformDep,
    principal: Provisioner,
    request: Request,
    shown: Shown,
) -> ScimResponse:
    """Rename a group or change its members: ``{"op": "add", "path": "members", "value":
    [{"value": "<user id>"}]}``, ``{"op": "remove", "path": "members[value eq
    \\"<user id>\\"]"}`` (Okta), or a ``remove`` whose value lists the members (Entra ID)."""
    directory = platform.directory
    record = _record(directory, group_id)
    patch = PatchOp[Group].model_validate(
        body, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
    )
    group = _group(directory, record, request)
    patch.patch(group, scim_policy=POLICY)
    _same_external_id(record, group)
    done = directory.change_group(
        record.id,
        by=principal.user,
        name=group.display_name or "",
        members=_members(directory, group),
    )
    log.info("scim.group_patched", group=group_id, by=principal.user)
    answer = _answer(platform, record.id, request, shown, Context.RESOURCE_PATCH_RESPONSE)
    recorded(platform, principal, done, answer)
    return answer


@router.delete("/Groups/{group_id}", status_code=204)
def delete_group(group_id: str, platform: PlatformDep, principal: Provisioner) -> Response:
    """Delete the group: its members leave it (and lose what it granted at their next
    sign-in); the events keep who was in it when."""
    record = _record(platform.directory, group_id)
    done = platform.directory.delete_group(record.id, by=principal.user)
    log.info("scim.group_deleted", group=group_id, by=principal.user)
    answer = Response(status_code=204)
    recorded(platform, principal, done, answer)
    return answer
