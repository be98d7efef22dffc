"""The HTTP API (FastAPI): the public contract of DESIGN.md over the ledger and the views."""

from services.api.app import create_app

__all__ = ["create_app"]
