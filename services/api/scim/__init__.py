"""SCIM 2.0 provisioning of the people directory (being built: issue 15)."""

from fastapi import APIRouter

router = APIRouter(prefix="/scim/v2", tags=["scim"])
