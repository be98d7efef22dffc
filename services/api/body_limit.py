"""Request bodies are bounded (``OKRGOV_MAX_BODY_BYTES``, 1 MiB by default) before anything
reads them: a larger body answers 413 ``payload_too_large`` and the routes never run, so
nothing is parsed or recorded.

A ``Content-Length`` above the limit is refused at once, without reading the body. A body
without one (chunked) is read here, up to the limit, before the application is called;
the moment it grows past the limit it is refused. A body within the limit is handed on
whole, exactly as received."""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.errors import PayloadTooLarge, problem


class BodyLimit:
    """ASGI middleware: 413 for a request body larger than ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before its body was complete: nobody to answer
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The rest of the body is never read: the connection is closed after the answer.
        answer = problem(PayloadTooLarge(self.max_bytes)).response({"Connection": "close"})
        await answer(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body as one message, then whatever the client sends next (a disconnect)."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed
