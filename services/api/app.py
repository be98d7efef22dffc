"""The FastAPI application over one Platform. The platform's lifecycle (start, close) is
the caller's: the CLI's ``serve``, or a test fixture."""

import re
import time

import structlog
from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.logging import correlated
from services.api import scim
from services.api.body_limit import BodyLimit
from services.api.deps import PlatformDep
from services.api.docs import install_docs
from services.api.errors import install_error_handlers, problem
from services.api.routes import ROUTERS
from services.api.schemas.health import Health, ProjectionHealth
from services.api.security_headers import SecurityHeaders
from services.bootstrap import Platform
from services.console.app import install_console
from services.workers.stream_health import StreamStore

CORRELATION_HEADER = "X-Correlation-Id"
# A client's id is kept only if it is safe to copy into logs and events verbatim.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

log = structlog.get_logger("okrgov.api")

DESCRIPTION = """\
Authenticate with `Authorization: Bearer <token>` (`okrgov token create`).

Errors: `{"error": {"code", "message", "details": [{"field", "rule", "message"}]}}`.
422: invalid input or a broken OKR rule (each field named); 409: the state refuses it
(locked, closed, retired, four eyes); nothing is recorded in either case.

Read-your-writes: a write answers the resulting document and `X-Okrgov-Position: N`;
your next read waits until the views reflect your writes. Send `X-Okrgov-Min-Position: N`
on a read to wait for a position you learned elsewhere. 503 + `Retry-After` if a view lags.

Every answer carries `X-Correlation-Id` (yours, if you sent a well-formed one); it is
recorded with every event the request caused.

A request body over `OKRGOV_MAX_BODY_BYTES` (1 MiB by default) answers 413 unread.
The CSV and JSON-lines exports of `/v1/audit` are streamed: an export that fails part way
ends without the final chunk of the chunked transfer (an incomplete transfer to any HTTP
client), never as a complete-looking file.
"""


class RequestContext:
    """Binds a correlation id (the client's ``X-Correlation-Id``, else a new one) to
    everything one request does, so every log line and every recorded event carries it;
    echoes it in the response and writes one access-log line per request. A failure no
    handler mapped still answers in the public error shape, never as a bare 500 page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = Headers(scope=scope).get(CORRELATION_HEADER, "")
        with correlated(sent if _ACCEPTABLE_ID.fullmatch(sent) else None) as cid:
            status, responded, started = 500, False, time.perf_counter()

            async def send_with_id(message: Message) -> None:
                nonlocal status, responded
                if message["type"] == "http.response.start":
                    status, responded = message["status"], True
                    MutableHeaders(scope=message)[CORRELATION_HEADER] = cid
                await send(message)

            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                log.exception("http.unhandled")
                if responded:
                    raise
                response = problem(exc).response({CORRELATION_HEADER: cid})
                status = response.status_code
                await response(scope, receive, send)
            finally:
                log.info(
                    "http.request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        title="okrgov",
        summary="Event-sourced OKR governance: cycles, objectives, key results, changes.",
        description=DESCRIPTION,
        version="1",
        docs_url=None,  # served by install_docs from local assets, with a strict policy
        redoc_url=None,
    )
    app.state.platform = platform
    install_error_handlers(app)
    install_console(app, platform)  # its session and CSRF layers sit inside those below
    # Outermost last: every answer, a 413 or an unhandled error included, gets the
    # correlation id and the security headers.
    app.add_middleware(BodyLimit, max_bytes=platform.settings.max_body_bytes)
    app.add_middleware(RequestContext)
    app.add_middleware(SecurityHeaders)
    install_docs(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(scim.router)
    app.add_api_route("/healthz", healthz, methods=["GET"], response_model=Health, tags=["ops"])
    return app


def healthz(platform: PlatformDep) -> Health:
    """Liveness, and how far each read model has followed the event store: an operator
    on call reads a growing ``lag`` as a stuck or failing projection."""
    positions = {name: f.view.position() for name, f in platform.followers.items()}
    store = StreamStore(platform.ledger.recorder, platform.ledger.mapper)
    recorded, now = store.head(), time.time()
    lags = {name: store.lag(at, now, recorded) for name, at in positions.items()}
    slow = any(lag.seconds > platform.settings.lag_warn_seconds for lag in lags.values())
    return Health(
        status="degraded" if slow else "ok",
        position=platform.okr_state.position(),
        recorded=recorded,
        projections={
            name: ProjectionHealth(
                position=at, lag=lags[name].events, lag_seconds=round(lags[name].seconds, 3)
            )
            for name, at in sorted(positions.items())
        },
    )
