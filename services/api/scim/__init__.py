"""SCIM 2.0 provisioning of the people directory (issue 15): ``/scim/v2/Users`` and
``/Groups`` keep the directory current from the identity provider (Entra ID, Okta...),
``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` describe the service.
Every route needs an okrgov token with the admin role; every change is a directory event
naming that token's user, so the audit trail shows who changed whom, and when."""

from fastapi import APIRouter

from services.api.scim import discovery, groups, users
from services.api.scim.common import PREFIX
from services.api.scim.errors import ScimRefusal, ScimRoute

router = APIRouter(prefix=PREFIX, tags=["scim"])
router.include_router(users.router)
router.include_router(groups.router)
router.include_router(discovery.router)


def no_such_endpoint(path: str) -> None:
    """Anything else under ``/scim/v2`` (``/Bulk``, ``/Me``, ``/.search``...) is not
    served: a SCIM 404, which provisioning clients read, rather than the ``/v1`` shape."""
    raise ScimRefusal(404, f"okrgov serves no SCIM endpoint /{path}")


# Last, so that it only answers what no route above matched.
router.add_api_route(
    "/{path:path}",
    no_such_endpoint,
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
    route_class_override=ScimRoute,
)
