"""SCIM 2.0 provisioning of the people directory (issue 15): ``/scim/v2/Users`` and
``/Groups`` keep the directory current from the identity provider (Entra ID, Okta...),
``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` describe the service.
Every route needs an okrgov token with the admin role; every change is a directory event
naming that token's user, so the audit trail shows who changed whom, and when."""

from fastapi import APIRouter

from services.api.scim import discovery, groups, users
from services.api.scim.common import PREFIX

router = APIRouter(prefix=PREFIX, tags=["scim"])
router.include_router(users.router)
router.include_router(groups.router)
router.include_router(discovery.router)
