"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served by
okrgov itself: their JavaScript and CSS are the copies the ``fastapi-offline`` wheel
vendors (Swagger UI 5, ReDoc 2), served from ``/docs-assets``, never from a CDN.

Each page carries a Content-Security-Policy allowing exactly what it needs. Swagger UI:
scripts from this origin plus the SHA-256 of its one inline bootstrap script (computed
from the page itself, so it cannot drift from it), its own stylesheet, images from this
origin or ``data:``, and requests to this origin ("Try it out"). ReDoc: scripts from this
origin, inline styles (it styles itself at run time), images from this origin or
``data:``, its search worker from a ``blob:``, requests to this origin. Neither may be
framed. Swagger UI's validator badge (an image from an outside host) is switched off."""

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_LOCKED = "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def inline_script_hashes(html: str) -> list[str]:
    """The CSP source of every inline ``<script>`` of a page: ``'sha256-<base64>'``."""
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def install_docs(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Serve the vendored assets and both pages; the app must be made with
    ``docs_url=None, redoc_url=None`` so FastAPI's CDN pages are not there."""
    openapi_url = app.openapi_url or "/openapi.json"
    assets = files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")

    swagger_page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{app.title} - API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
        oauth2_redirect_url=None,
        swagger_ui_parameters={"validatorUrl": None},
    ).body
    swagger = bytes(swagger_page).decode()
    swagger_policy = (
        f"default-src 'none'; script-src 'self' {' '.join(inline_script_hashes(swagger))}; "
        f"style-src 'self'; img-src 'self' data:; connect-src 'self'; {_LOCKED}"
    )
    redoc_page = get_redoc_html(
        openapi_url=openapi_url,
        title=f"{app.title} - API reference",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    ).body
    redoc = bytes(redoc_page).decode()
    redoc_policy = (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data:; worker-src blob:; connect-src 'self'; {_LOCKED}"
    )

    def page(html: str, policy: str) -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": policy})

    app.add_api_route(
        docs_url, lambda: page(swagger, swagger_policy), methods=["GET"], include_in_schema=False
    )
    app.add_api_route(
        redoc_url, lambda: page(redoc, redoc_policy), methods=["GET"], include_in_schema=False
    )
