"""A TEST DOUBLE of an OPA server: OPA's REST endpoints on OPA's own Go evaluator.

No OPA server binary can be installed on these machines, so the tests of ``OpaEngine``
(and of anything configured with an OPA URL) talk to ``OpaServerDouble``: a small threaded
HTTP server on 127.0.0.1 that answers the endpoints opa-python-client uses, in OPA's
shapes. What it is: OPA's real evaluator and compiler (``opa_bindings``, OPA's Go engine
loaded in this process, see ``policies.opa_golib``), so its answers and its compile
errors are OPA's. What it is not: OPA's server. No bundles, discovery, authentication or
authorization, decision logs, status or metrics, no query parameters (``pretty``,
``explain``, ``metrics``, ``strict-builtin-errors``...), no ``/v1/query``, ``/v1/compile``
or ``/v0`` API, no watches and no persistence; and it implements only these endpoints:

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

Checking modules. OPA's Go engine compiles lazily (an unknown function is reported at the
first evaluation, not when the module is added), so a PUT or DELETE builds a Go engine
with every module the server would then hold, and the data, and evaluates ``x := 1`` to
force the compilation. OPA's error text ("a.rego:3: rego_type_error: undefined function
f", one line per error, a parse error followed by its source line and a caret) becomes
OPA's error document: ``errors`` with each error's code and ``location`` (file, row, col;
col from the caret of a parse error, 0 where OPA's text gives none).

Evaluating. One Go engine per state of the modules and data, built at the first
evaluation after a change and shared by the handler threads (the Go engine serializes its
evaluations with a lock of its own). A replaced engine is closed by the garbage collector
once no handler holds it, never under a running evaluation.

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

from policies.opa_golib import INSTALL_HINT, OpaUnavailable, available

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COMPILE_MESSAGE = "error(s) occurred while compiling module(s)"
# One error of OPA's text: "okrgov/a.rego:3: rego_type_error: undefined function f", for a
# parse error followed by the source line and a caret under the column.
_OPA_ERROR = re.compile(
    r"(?P<file>[^\s:]+):(?P<row>\d+): (?P<code>rego_[a-z_]+): (?P<message>[^\n]*)"
    r"(?:\n\t[^\n]*\n\t(?P<caret> *)\^)?"
)
#: The query a check evaluates to make OPA compile every module (it compiles lazily).
_COMPILE_QUERY = "x := 1"
#: The variable an evaluation binds the document to.
_RESULT = "result"


class OpaServerDouble:
    """A stand-in for ``opa run --server`` (see the module docstring); a context manager."""

    def __init__(self) -> None:
        if not available():
            raise OpaUnavailable(INSTALL_HINT)
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
        # (modules, data, Go engine): the engine of that state, reused while the double's
        # modules and data are these very objects (every change replaces them).
        self._evaluator: tuple[dict[str, str], dict[str, Any], Any] | None = None
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
        engine, errors = _compiled(modules, data)
        if errors:
            # OPA: invalid_parameter for a module that does not compile, invalid_operation
            # for a deletion that would break the others.
            code = "invalid_parameter" if method == "PUT" else "invalid_operation"
            return 400, _json({"code": code, "message": _COMPILE_MESSAGE, "errors": errors})
        with self._lock:
            self.modules = modules
            self._evaluator = (modules, data, engine)
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
        from opa_bindings import OpaError

        engine = self._engine()
        try:
            found = engine.eval_query(f"{_RESULT} := {_reference(segments)}", input)
        except OpaError as exc:
            return 500, _error("internal_error", exc.message)
        if not found:
            return 200, b"{}"
        return 200, _json({"result": found[0][_RESULT]})

    def _engine(self) -> Any:
        """The Go engine of the current modules and data (built when they changed)."""
        with self._lock:
            modules, data = self.modules, self.data
            cached = self._evaluator
            if cached is not None and cached[0] is modules and cached[1] is data:
                return cached[2]
            engine = _go_engine(modules, data)  # under the lock: one build per change
            self._evaluator = (modules, data, engine)
            return engine


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


def _go_engine(modules: dict[str, str], data: dict[str, Any]) -> Any:
    """A Go engine with these modules (by policy id) and this data; it compiles them at
    its first evaluation."""
    from opa_bindings import OpaEngine

    engine = OpaEngine()
    engine.print_handler = _discard_print  # OPA's server logs them; nobody reads them here
    for pid in sorted(modules):
        engine.add_policy(pid, modules[pid])  # raises OpaError for a parse error
    engine.add_data(data)
    return engine


def _discard_print(message: str, location: str) -> None:
    """Output of ``print()`` in a module (the Go engine writes it to stderr otherwise)."""


def _compiled(modules: dict[str, str], data: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    """A Go engine of these modules and data, compiled; or ``None`` and OPA's errors
    (its error document's ``errors``) when they do not compile together."""
    from opa_bindings import OpaError

    try:
        engine = _go_engine(modules, data)
        engine.eval_query(_COMPILE_QUERY)
    except OpaError as exc:
        return None, _opa_errors(exc.message)
    return engine, []


def _opa_errors(text: str) -> list[dict[str, Any]]:
    """OPA's error text as the ``errors`` of its REST error document."""
    errors = [
        {
            "code": found.group("code"),
            "message": found.group("message"),
            "location": {
                "file": found.group("file"),
                "row": int(found.group("row")),
                "col": len(found.group("caret")) + 1 if found.group("caret") is not None else 0,
            },
        }
        for found in _OPA_ERROR.finditer(text)
    ]
    return errors or [{"code": "rego_compile_error", "message": " ".join(text.split())}]


def _compile_error(module: str, line: int, column: int, message: str) -> bytes:
    """OPA's error document for a module refused (by ``refuse_puts``)."""
    error = {
        "code": "rego_compile_error",
        "message": message,
        "location": {"file": module, "row": line, "col": column},
    }
    return _json({"code": "invalid_parameter", "message": _COMPILE_MESSAGE, "errors": [error]})


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
