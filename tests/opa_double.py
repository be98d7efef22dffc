"""A TEST DOUBLE of an OPA server: OPA's REST endpoints on top of the embedded regorus engine.

No OPA server binary can be installed on these machines, so the tests of ``OpaEngine``
(and of anything configured with an OPA URL) talk to ``OpaServerDouble``: a small threaded
HTTP server on 127.0.0.1 that answers the endpoints opa-python-client uses, in OPA's
shapes, and evaluates with regorus. It is not OPA: it checks modules with regorus's parser
and analysis (OPA's compiler is stricter, e.g. about calls to functions not defined yet),
and implements only these endpoints:

    GET    /health                    200 {}
    GET    /v1/policies               {"result": [{"id", "raw"}, ...]}  (also with a "/")
    GET    /v1/policies/{id}          {"result": {"id", "raw"}}, 404 when unknown
    PUT    /v1/policies/{id}          text/plain module; 200 {}, 400 with OPA's error
                                      document when the modules no longer compile
    DELETE /v1/policies/{id}          200 {}, 404 when unknown, 400 when the rest breaks
    PUT    /v1/data[/{path}]          a JSON document at that path (the root: an object)
    DELETE /v1/data/{path}            204, 404 when absent
    GET    /v1/data[/{path}]          {"result": value} or {} when undefined
    POST   /v1/data[/{path}]          {"input": ...} -> {"result": value} or {}

A regorus engine may only be used on the thread that created it, and the server handles
each request on a new thread, so every evaluation builds its engine inside the handler
(a few milliseconds for the shipped bundle).

Faults for the fail-closed tests: ``fail(status, body)`` makes every request answer so
(``fail(200, b"<html>")`` for a malformed answer), ``delay(seconds, methods)`` holds the
answers (to every request, or to those methods), ``refuse_puts(policy_id, times)`` answers
the next PUTs of a module with a compile error, ``recover()`` ends all three, and
``stop()`` closes the port and every open connection (connections are then refused).
``requests`` records ``(method, path)`` of every request.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from policies.bundle import canonical_json
from policies.engine import PolicyCompileError, new_engine, prepare

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COMPILE_MESSAGE = "error(s) occurred while compiling module(s)"


class OpaServerDouble:
    """A stand-in for ``opa run --server`` (see the module docstring); a context manager."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.modules: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self.requests: list[tuple[str, str]] = []
        self._failure: tuple[int, bytes] | None = None
        self._delay = 0.0
        self._delayed: frozenset[str] | None = None
        self._refusals: dict[str, int] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OpaServerDouble:
        server = _Server(("127.0.0.1", self.port), _handler(self))
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket: later connections to the port are refused."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:  # kept-alive connections too, or their threads would answer on
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> OpaServerDouble:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- faults ----------------------------------------------------------------------

    def fail(self, status: int = 500, body: bytes | None = None) -> None:
        """Answer every request with this status and body (default: OPA's error shape)."""
        if body is None:
            body = _json({"code": "internal_error", "message": "failure injected by the double"})
        self._failure = (status, body)

    def delay(self, seconds: float, methods: frozenset[str] | None = None) -> None:
        """Hold answers this long (a server that hangs), to requests with these methods
        (all by default)."""
        self._delay = seconds
        self._delayed = methods

    def refuse_puts(self, policy_id: str, times: int = 1) -> None:
        """Answer the next ``times`` PUTs of this module with a compile error at line 1."""
        self._refusals[policy_id] = times

    def recover(self) -> None:
        self._failure = None
        self._delay = 0.0
        self._delayed = None
        self._refusals.clear()

    # -- the API ---------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, body: bytes) -> tuple[int, bytes]:
        try:
            return self._handle(method, raw_path, body)
        except Exception as exc:  # a bug of the double, or a body that is not JSON
            return 500, _error("internal_error", f"{type(exc).__name__}: {exc}")

    def _handle(self, method: str, raw_path: str, body: bytes) -> tuple[int, bytes]:
        path = urlsplit(raw_path).path
        with self._lock:
            self.requests.append((method, path))
        if self._delay and (self._delayed is None or method in self._delayed):
            time.sleep(self._delay)
        if self._failure is not None:
            return self._failure
        if path == "/health" and method == "GET":
            return 200, b"{}"
        if path.rstrip("/") == "/v1/policies" and method == "GET":
            with self._lock:
                listing = [{"id": i, "raw": raw} for i, raw in sorted(self.modules.items())]
            return 200, _json({"result": listing})
        if path.startswith("/v1/policies/"):
            return self._policy(method, unquote(path[len("/v1/policies/") :]), body)
        if path == "/v1/data" or path.startswith("/v1/data/"):
            segments = [unquote(s) for s in path[len("/v1/data") :].split("/") if s]
            return self._data(method, segments, body)
        return 404, _error("resource_not_found", f"{method} {path} is not an endpoint")

    def _policy(self, method: str, pid: str, body: bytes) -> tuple[int, bytes]:
        with self._lock:
            modules, data = dict(self.modules), self.data
        if method == "GET":
            if pid not in modules:
                return 404, _error(
                    "resource_not_found", f'storage_not_found_error: policy id "{pid}"'
                )
            return 200, _json({"result": {"id": pid, "raw": modules[pid]}})
        if method == "PUT":
            if self._refusals.get(pid, 0) > 0:
                self._refusals[pid] -= 1
                return 400, _compile_error(pid, 1, 1, "refused by the double (refuse_puts)")
            modules[pid] = body.decode("utf-8")
        elif method == "DELETE":
            if pid not in modules:
                return 404, _error(
                    "resource_not_found", f'storage_not_found_error: policy id "{pid}"'
                )
            del modules[pid]
        else:
            return 405, b""
        problem = _check(modules, data)
        if problem is not None:
            # OPA: invalid_parameter for a module that does not compile, invalid_operation
            # for a deletion that would break the others.
            code = "invalid_parameter" if method == "PUT" else "invalid_operation"
            return 400, _compile_error(*problem, code=code)
        with self._lock:
            self.modules = modules
        return 200, b"{}"

    def _data(self, method: str, segments: list[str], body: bytes) -> tuple[int, bytes]:
        if method == "PUT":
            try:
                value = json.loads(body)
            except ValueError as exc:
                return 400, _error("invalid_parameter", str(exc))
            if not segments and not isinstance(value, dict):
                return 400, _error("invalid_parameter", "the root document must be an object")
            with self._lock:
                self.data = _write(self.data, segments, value)
            return 204, b""
        if method == "DELETE":
            with self._lock:
                updated = _delete(self.data, segments)
                if updated is None:
                    return 404, _error("resource_not_found", "storage_not_found_error")
                self.data = updated
            return 204, b""
        if method in ("GET", "POST"):
            request = json.loads(body) if body.strip() else {}
            return self._evaluate(segments, request.get("input") if request else None)
        return 405, b""

    def _evaluate(self, segments: list[str], input: Any) -> tuple[int, bytes]:
        with self._lock:
            modules, data = dict(self.modules), self.data
        engine = new_engine(modules, data)  # on this handler's thread, used only here
        if input is not None:
            engine.set_input_json(canonical_json(input))
        try:
            answer = json.loads(engine.eval_query_as_json(_reference(segments)))
        except RuntimeError as exc:
            message = str(exc).split("Stack backtrace:", 1)[0].strip()
            return 500, _error("internal_error", message)
        results = answer.get("result") or []
        if not results:
            return 200, b"{}"
        return 200, _json({"result": results[0]["expressions"][0]["value"]})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer (a timeout test, or ``stop()``)."""


def _handler(double: OpaServerDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes: without this, Nagle's algorithm and
            # the client's delayed ACK add ~40 ms to every answer on a kept-alive socket.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with double._lock:
                double._connections.add(self.connection)

        def finish(self) -> None:
            with double._lock:
                double._connections.discard(self.connection)
            with contextlib.suppress(OSError):
                super().finish()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, answer = double.handle(self.command, self.path, body)
            self.send_response(status)
            if status != 204:
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            if status != 204:
                self.wfile.write(answer)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _check(modules: dict[str, str], data: dict[str, Any]) -> tuple[str, int, int, str] | None:
    """(module, line, column, message) when the modules do not compile together."""
    try:
        prepare(new_engine(modules, data))
    except PolicyCompileError as exc:
        return exc.module or "", exc.line or 0, exc.column or 0, exc.message
    return None


def _compile_error(
    module: str, line: int, column: int, message: str, code: str = "invalid_parameter"
) -> bytes:
    """OPA's error document for modules that do not compile."""
    parse = "expect" in message or "unexpected" in message
    return _json(
        {
            "code": code,
            "message": _COMPILE_MESSAGE,
            "errors": [
                {
                    "code": "rego_parse_error" if parse else "rego_compile_error",
                    "message": message,
                    "location": {"file": module, "row": line, "col": column},
                }
            ],
        }
    )


def _reference(segments: list[str]) -> str:
    text = "data"
    for segment in segments:
        text += f".{segment}" if _IDENTIFIER.match(segment) else f"[{json.dumps(segment)}]"
    return text


def _write(root: dict[str, Any], segments: list[str], value: Any) -> dict[str, Any]:
    if not segments:
        return copy.deepcopy(value)  # type: ignore[no-any-return]
    updated = copy.deepcopy(root)
    node = updated
    for segment in segments[:-1]:
        child = node.get(segment)
        if not isinstance(child, dict):
            child = node[segment] = {}
        node = child
    node[segments[-1]] = copy.deepcopy(value)
    return updated


def _delete(root: dict[str, Any], segments: list[str]) -> dict[str, Any] | None:
    if not segments:
        return {}
    updated = copy.deepcopy(root)
    node: Any = updated
    for segment in segments[:-1]:
        node = node.get(segment) if isinstance(node, dict) else None
    if not isinstance(node, dict) or segments[-1] not in node:
        return None
    del node[segments[-1]]
    return updated


def _error(code: str, message: str) -> bytes:
    return _json({"code": code, "message": message})


def _json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")
