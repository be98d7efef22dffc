"""What the SCIM service announces of itself (RFC 7644 §4): ``/ServiceProviderConfig``,
``/ResourceTypes`` and ``/Schemas``, derived by scim2-models from the very models the
routes validate with, so the announcement and the behaviour cannot drift apart. Bearer
protected like the rest of ``/scim/v2``: provisioning clients send their token anyway."""

from typing import Any

from fastapi import Depends, Request
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Patch,
    ResourceType,
    Schema,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)

from services.api.scim.common import MAX_RESULTS, page, provisioner, scim_router, search_of
from services.api.scim.errors import ScimRefusal
from services.api.scim.resources import POLICY, OkrgovUser, ScimUser, dump

router = scim_router(Depends(provisioner))

PROVIDER = ScimProvider(
    models=[User, EnterpriseUser, OkrgovUser, Group],
    resource_types=[ResourceType.from_resource(ScimUser), ResourceType.from_resource(Group)],
    config=ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="an okrgov token with the admin role "
                "(okrgov token create --user scim-provisioner --role admin)",
                primary=True,
            )
        ],
    ),
    policy=POLICY,
)


@router.get("/ServiceProviderConfig")
def service_provider_config() -> dict[str, Any]:
    assert PROVIDER.config is not None
    return dump(PROVIDER.config, Context.RESOURCE_QUERY_RESPONSE)


@router.get("/ResourceTypes")
def resource_types(request: Request) -> dict[str, Any]:
    search = search_of(ResourceType, request)
    return page(ResourceType, list(PROVIDER.resource_types), search, lambda r: r.id or "")


@router.get("/ResourceTypes/{name}")
def resource_type(name: str) -> dict[str, Any]:
    for described in PROVIDER.resource_types:
        if described.id == name:
            return dump(described, Context.RESOURCE_QUERY_RESPONSE)
    raise ScimRefusal(404, f"no resource type {name!r}")


@router.get("/Schemas")
def schemas(request: Request) -> dict[str, Any]:
    search = search_of(Schema, request)
    return page(Schema, list(PROVIDER.schemas), search, lambda s: s.id or "")


@router.get("/Schemas/{schema_id}")
def schema(schema_id: str) -> dict[str, Any]:
    for described in PROVIDER.schemas:
        if described.id == schema_id:
            return dump(described, Context.RESOURCE_QUERY_RESPONSE)
    raise ScimRefusal(404, f"no schema {schema_id!r}")
