"""Security headers on every answer the API gives: errors, 404s, ``/healthz``,
``/openapi.json`` and the HTML pages included.

* ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` everywhere;
* ``Cache-Control: no-store`` on everything under ``/v1`` and ``/console`` (its static
  files aside) and on any request that carried credentials: answers about a firm's OKRs
  and its audit trail are never cached;
* on HTML, ``X-Frame-Options: DENY`` and a Content-Security-Policy: the strict default
  below (nothing may load, no script, no framing) unless the route set a policy of its own
  (the board report's, the API docs'), each with ``frame-ancestors 'none'``."""

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Every policy ends with these: no <base> rewriting, no form posts, never in a frame.
_LOCKED = "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
#: HTML that loads nothing and runs nothing (any HTML page without a policy of its own).
STRICT_POLICY = f"default-src 'none'; {_LOCKED}"
#: The board report: one self-contained page of inline CSS (a <style> element and a few
#: ``style`` attributes) and inline SVG; no script, no image, font or other fetch. Inline
#: styles need 'unsafe-inline': hashes would cover the <style> element but not the style
#: attributes without 'unsafe-hashes', which not every browser honours. With no script and
#: nothing allowed to load, inline CSS can neither run code nor send anything anywhere.
REPORT_POLICY = f"default-src 'none'; style-src 'unsafe-inline'; {_LOCKED}"
#: The web console: its own script (htmx, vendored) and stylesheet only, requests to its
#: own origin only, forms posted to itself only; no inline script or style anywhere
#: (charts are SVG with presentation attributes, not ``style``).
CONSOLE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_AUTHENTICATED_PREFIX = "/v1"


_CONSOLE_PREFIX = "/console"
_CONSOLE_STATIC = "/console/static/"


def is_authenticated_path(path: str) -> bool:
    """The API and the console's pages (not its static files) answer about the firm."""
    if path.startswith(_CONSOLE_STATIC):
        return False
    return any(
        path == p or path.startswith(p + "/") for p in (_AUTHENTICATED_PREFIX, _CONSOLE_PREFIX)
    )


class SecurityHeaders:
    """ASGI middleware adding the headers above to every response start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = is_authenticated_path(scope["path"]) or "authorization" in Headers(scope=scope)

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                if private:
                    headers["Cache-Control"] = "no-store"
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", STRICT_POLICY)
                    headers["X-Frame-Options"] = "DENY"
            await send(message)

        await self.app(scope, receive, send_secured)
