"""The guardrails evaluated by an OPA server, through ``opa-python-client``.

``OpaEngine`` is the ``PolicyEngine`` for deployments that run OPA as a server. It pushes
the bundle over OPA's REST API and asks it for ``data.okrgov.guardrails.deny`` and
``.warn``; the verdicts are the embedded engine's (the integration tests compare both on
the same inputs).

Loading a bundle:

1. ``compile_bundle`` checks it locally first, so a bundle that does not parse, has unsafe
   rules or calls a missing function is refused with module and line before anything
   reaches the server.
2. ``PUT /v1/data`` replaces the server's whole data document with the bundle's
   ``data.json``: the rules read it at the root (``data.risk_appetite``, ``data.limits``),
   exactly as the embedded engine loads it, and keys of an older bundle must not survive.
   The OPA server is therefore dedicated to okrgov (as with an OPA bundle whose root is the
   whole tree).
3. Every module is pushed with ``update_policy_from_string`` under the id
   ``okrgov/<file name>`` (unchanged modules are skipped), and modules under ``okrgov/``
   that the bundle lacks are deleted; the server's own list is read, so modules left by a
   bundle loaded before a restart of this process are removed too. OPA compiles on every
   push, and a module that calls a function of another module is refused until that one is
   there: refused operations are retried while any other one makes progress.

A load that fails half way leaves the server holding a mix. The engine then keeps the
previous bundle as the active one and pushes it again before the next evaluation. The same
happens when OPA answers that it has no guardrails (an OPA server keeps policies in
memory: after a restart it knows none). Evaluations in this process never see a half
loaded bundle (a readers-writer lock); other processes sharing the server may, for the
few milliseconds a load takes, because OPA's policy API has no multi-module transaction.

Evaluating: one ``query_rule`` call for ``deny`` and one for ``warn`` (skipped when the
bundle defines no warn rule). Querying the whole package document in one call would also
evaluate every helper rule and the catalogue, and would fail on a runtime error in a rule
that neither deny nor warn uses, where the embedded engine answers; two small queries keep
both engines' answers identical. Any transport error, timeout, answer other than 200, or
malformed answer (or no ``result`` even after a push) raises ``OpaServerError``, a
``PolicyEvaluationError``: the caller fails closed. By default requests are not retried
(``retries=0``), so one request waits at most ``timeout`` seconds: an evaluation about
twice that, plus one request per module when it first has to push the bundle again.

Threads. ``OpaClient`` wraps one ``requests.Session``; sessions are not documented as
thread-safe (its own lock only guards ``close_connection``), so each thread gets its own
client, and with it its own connection pool, on first use.

Two requests are made on the client's session directly, because the client has no method
for them: writing the root data document (``update_or_create_data`` accepts only an object
and always requests ``/v1/data/<path>``, with a trailing slash for the root) and listing
policies (``get_policies_list`` requests ``/v1/policies/``, a path OPA versions route
differently from ``/v1/policies``). ``health`` uses ``check_health`` (``GET /health``:
OPA answers 200 only when it can evaluate a query) rather than ``check_connection``, which
requests ``/v1/policies/`` as well.


Over 300 lines on purpose: one client of one server, whose loading, locking and error
mapping are only correct together."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from opa_client import OpaClient
from opa_client.errors import DeletePolicyError, RegoParseError

from policies.bundle import PolicyBundle, canonical_json
from policies.engine import (
    WARN_RULE,
    PolicyCompileError,
    PolicyError,
    PolicyEvaluationError,
    PolicyTimeout,
    Verdict,
    budget_text,
    compile_bundle,
    defines,
)

#: Policy ids of okrgov's modules on the server start so; others are never touched.
POLICY_PREFIX = "okrgov/"
#: The guardrails package as a path under ``/v1/data``.
GUARDRAILS_PATH = "okrgov/guardrails"
DEFAULT_TIMEOUT = 2.0

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ERRNO = re.compile(r"\[Errno -?\d+\][^'\")]*")


class OpaServerError(PolicyEvaluationError):
    """The OPA server could not be reached, did not answer in time, or gave no usable
    answer. ``status`` is the HTTP status when it answered at all."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OpaTimeout(OpaServerError, PolicyTimeout):
    """The OPA server did not answer within the timeout (the decision budget)."""

    def __init__(self, message: str, budget: float) -> None:
        PolicyTimeout.__init__(self, message, budget)
        self.status = None


@dataclass(frozen=True)
class _Active:
    bundle: PolicyBundle
    has_warn: bool


class _Refused(Exception):
    """OPA refused to add or delete a module (its error document in ``error``)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.error = error


class _ReadWriteLock:
    """Many readers or one writer; a waiting writer holds back new readers."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._condition:
            while self._writing or self._writers_waiting:
                self._condition.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                if not self._readers:
                    self._condition.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._condition:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._condition.wait()
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()


class OpaEngine:
    """``PolicyEngine`` on an OPA server at ``url`` (``http://host:port`` or ``https://``;
    opa-python-client cannot reach OPA under a path prefix). ``timeout`` bounds every
    request, in seconds; ``token`` is sent as a bearer token; ``retries`` re-sends a
    request after a connection failure (and, except for queries, after a 500/502/504),
    multiplying the worst-case wait."""

    def __init__(
        self,
        url: str,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        token: str | None = None,
        retries: int = 0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the OPA URL must be http://host:port or https://host:port: {url!r}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"the OPA URL must not have a path, query or fragment: {url!r}")
        if timeout <= 0:
            raise ValueError("the OPA timeout must be positive")
        host = parts.hostname
        self._host = f"[{host}]" if ":" in host else host  # the client writes host:port
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = parts.scheme == "https"
        self.url = f"{parts.scheme}://{self._host}:{self._port}"
        self.timeout = timeout
        self._token = token
        self._retries = retries
        self._local = threading.local()
        self._clients: list[Any] = []
        self._clients_lock = threading.Lock()
        self._lock = _ReadWriteLock()
        self._active: _Active | None = None
        self._in_sync = False  # whether the server is known to hold self._active

    @property
    def bundle(self) -> PolicyBundle | None:
        """The active bundle: the last one loaded successfully."""
        active = self._active
        return active.bundle if active else None

    def load(self, bundle: PolicyBundle) -> None:
        """Check the bundle locally (``PolicyCompileError``, nothing pushed), then push it.

        Raises ``PolicyCompileError`` also when the server refuses a module (its module and
        line), and ``OpaServerError`` when the server cannot be reached or fails; in both
        cases the previous bundle stays active and is pushed again before the next
        evaluation."""
        checked = compile_bundle(bundle)
        active = _Active(bundle, defines(checked, WARN_RULE))
        del checked  # a regorus engine, bound to this thread
        with self._lock.writing():
            self._in_sync = False
            self._push(bundle)
            self._active = active
            self._in_sync = True

    def evaluate(self, input: dict[str, Any]) -> Verdict:
        """The verdict of the OPA server on one input document."""
        try:
            document = json.loads(canonical_json(input))
        except (TypeError, ValueError) as exc:
            raise PolicyEvaluationError(f"the input is not a JSON document: {exc}") from None
        for attempt in (1, 2):
            with self._lock.reading():
                active = self._active
                if active is None:
                    raise PolicyEvaluationError("no policy bundle loaded")
                if self._in_sync:
                    verdict = self._ask(document, active)
                    if verdict is not None:
                        return verdict
                    self._in_sync = False  # OPA has no guardrails: restarted, or wiped
            if attempt == 2:
                break
            self._resync()
        raise OpaServerError(
            f"the OPA server at {self.url} does not answer for the guardrails of the active "
            "bundle, even after they were pushed again"
        )

    def health(self) -> bool:
        """Whether the server answers ``GET /health`` with 200 (it can evaluate)."""
        try:
            return bool(self._client().check_health())
        except Exception:
            return False

    def close(self) -> None:
        """Close every thread's HTTP session."""
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close_connection()
        self._local = threading.local()

    # -- evaluating ------------------------------------------------------------------

    def _ask(self, document: Any, active: _Active) -> Verdict | None:
        """The verdict, or None when the server does not define the rules."""
        found, deny = self._query(document, "deny")
        if not found:
            return None
        warn = None
        if active.has_warn:
            found, warn = self._query(document, "warn")
            if not found:
                return None
        try:
            return Verdict.of(deny, warn)
        except PolicyEvaluationError as exc:
            raise OpaServerError(
                f"the OPA server at {self.url} gave a malformed answer: {exc}", 200
            ) from None

    def _query(self, document: Any, rule: str) -> tuple[bool, Any]:
        what = f"POST /v1/data/{GUARDRAILS_PATH}/{rule}"
        with self._talking(what):
            answer = self._client().query_rule(document, GUARDRAILS_PATH, rule)
        if not isinstance(answer, dict):
            raise OpaServerError(
                f"the OPA server at {self.url} gave a malformed answer to {what}: "
                f"expected a JSON object, got {_shorten(answer)}",
                200,
            )
        if "result" not in answer:
            return False, None
        return True, answer["result"]

    def _resync(self) -> None:
        """Push the active bundle again, unless another thread already did."""
        with self._lock.writing():
            active = self._active
            if self._in_sync or active is None:
                return
            try:
                self._push(active.bundle)
            except PolicyCompileError as exc:
                raise OpaServerError(
                    f"the OPA server at {self.url} refused the active bundle: {exc}"
                ) from exc
            self._in_sync = True

    # -- pushing ---------------------------------------------------------------------

    def _push(self, bundle: PolicyBundle) -> None:
        names = {policy_id(name): name for name in bundle.modules}
        on_server = self._server_policies()
        self._put_data(bundle.data)
        pending: list[tuple[str, str | None]] = [
            (pid, name)
            for pid, name in sorted(names.items())
            if on_server.get(pid) != bundle.modules[name]
        ]
        pending += [
            (pid, None)
            for pid in sorted(on_server)
            if pid.startswith(POLICY_PREFIX) and pid not in names
        ]
        while pending:
            refused: list[tuple[str, str | None, _Refused]] = []
            for pid, name in pending:
                try:
                    if name is None:
                        self._delete_policy(pid)
                    else:
                        self._put_policy(pid, bundle.modules[name])
                except _Refused as exc:
                    refused.append((pid, name, exc))
            if len(refused) == len(pending):  # no progress: the refusals are final
                raise self._refusal_error(refused, names)
            pending = [(pid, name) for pid, name, _ in refused]

    def _refusal_error(
        self, refused: list[tuple[str, str | None, _Refused]], names: dict[str, str]
    ) -> PolicyError:
        for _pid, name, exc in refused:
            if name is not None:
                return _compile_error(exc.error, names, name)
        pid, _, exc = refused[0]
        return OpaServerError(
            f"the OPA server at {self.url} refused to delete module {pid} of the previous "
            f"bundle: {_error_text(exc.error)}",
            400,
        )

    def _put_policy(self, pid: str, text: str) -> None:
        what = f"PUT /v1/policies/{pid}"
        try:
            with self._talking(what):
                self._client().update_policy_from_string(text, pid, rego_compat=False)
        except RegoParseError as exc:
            error = {"code": exc.expression, "message": exc.message, "errors": exc.errors}
            if not _is_compile_error(error):
                raise OpaServerError(
                    f"the OPA server at {self.url} failed {what}: {_error_text(error)}"
                ) from None
            raise _Refused(error) from None

    def _delete_policy(self, pid: str) -> None:
        what = f"DELETE /v1/policies/{pid}"
        try:
            with self._talking(what):
                self._client().delete_policy(pid)
        except DeletePolicyError as exc:
            error = {"code": exc.expression, "message": exc.message}
            if exc.expression == "resource_not_found":
                return  # already gone
            if exc.expression in ("invalid_operation", "invalid_parameter"):
                raise _Refused(error) from None
            raise OpaServerError(
                f"the OPA server at {self.url} failed {what}: {_error_text(error)}"
            ) from None

    def _put_data(self, data: dict[str, Any]) -> None:
        body = canonical_json(data).encode("utf-8")
        response = self._request("PUT", "/data", data=body)
        if response.status_code not in (200, 204):
            raise self._status_error("PUT /v1/data", response)

    def _server_policies(self) -> dict[str, str]:
        """Policy id -> module text of every module on the server."""
        what = "GET /v1/policies"
        response = self._request("GET", "/policies")
        if response.status_code != 200:
            raise self._status_error(what, response)
        with self._talking(what):
            listing = response.json()
        result = listing.get("result") if isinstance(listing, dict) else None
        if not isinstance(result, list) or not all(
            isinstance(p, dict) and isinstance(p.get("id"), str) for p in result
        ):
            raise OpaServerError(
                f"the OPA server at {self.url} gave a malformed answer to {what}: "
                f"{_shorten(listing)}",
                200,
            )
        return {p["id"]: p.get("raw") if isinstance(p.get("raw"), str) else "" for p in result}

    # -- HTTP ------------------------------------------------------------------------

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = OpaClient(
                host=self._host,
                port=self._port,
                ssl=self._ssl,
                token=self._token,
                retries=self._retries,
                timeout=self.timeout,
            )
            with self._clients_lock:
                self._clients.append(client)
            self._local.client = client
        return client

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request the client has no method for, on its session (headers, token,
        retries and certificates as configured)."""
        client = self._client()
        headers = {"Content-Type": "application/json"} if "data" in kwargs else {}
        with self._talking(f"{method} /v1{path}"):
            response: requests.Response = client._session.request(
                method, f"{client.root_url}{path}", timeout=self.timeout, headers=headers, **kwargs
            )
        return response

    @contextmanager
    def _talking(self, what: str) -> Iterator[None]:
        """Turn what requests and the client raise into ``OpaServerError``."""
        try:
            yield
        except requests.Timeout as exc:
            raise OpaTimeout(
                f"the OPA server at {self.url} did not answer {what} within its "
                f"{budget_text(self.timeout)} budget",
                self.timeout,
            ) from exc
        except requests.ConnectionError as exc:
            raise OpaServerError(
                f"the OPA server at {self.url} is unreachable ({what}): {_reason(exc)}"
            ) from exc
        except requests.HTTPError as exc:
            raise self._status_error(what, exc.response) from exc
        except (requests.RequestException, ValueError) as exc:  # JSON that does not parse
            raise OpaServerError(
                f"the OPA server at {self.url} gave a malformed answer to {what}: {exc}"
            ) from exc

    def _status_error(self, what: str, response: requests.Response | None) -> OpaServerError:
        if response is None:
            return OpaServerError(f"the OPA server at {self.url} failed {what}")
        try:
            detail = _error_text(response.json())
        except ValueError:
            detail = _shorten(response.text)
        return OpaServerError(
            f"the OPA server at {self.url} answered {response.status_code} to {what}: {detail}",
            response.status_code,
        )


def policy_id(module: str) -> str:
    """The server-side id of a bundle module: ``okrgov/<file name>``, or a digest of the
    name when it has characters a URL path would need escaped."""
    if _SAFE_NAME.match(module):
        return POLICY_PREFIX + module
    return f"{POLICY_PREFIX}m-{hashlib.sha256(module.encode('utf-8')).hexdigest()[:16]}.rego"


def _is_compile_error(error: dict[str, Any]) -> bool:
    errors = error.get("errors")
    return isinstance(errors, list) and any(
        isinstance(e, dict) and str(e.get("code", "")).startswith("rego_") for e in errors
    )


def _compile_error(error: dict[str, Any], names: dict[str, str], module: str) -> PolicyCompileError:
    """``PolicyCompileError`` from OPA's error document, naming the bundle's module."""
    for item in error.get("errors") or []:
        if not isinstance(item, dict):
            continue
        location = item.get("location")
        if not isinstance(location, dict):
            location = {}
        file = location.get("file")
        row, col = location.get("row"), location.get("col")
        return PolicyCompileError(
            names.get(file, module) if isinstance(file, str) else module,
            row if isinstance(row, int) else None,
            f"{item.get('message', 'refused')} (refused by the OPA server)",
            col if isinstance(col, int) else None,
        )
    return PolicyCompileError(module, None, f"{_error_text(error)} (refused by the OPA server)")


def _error_text(body: Any) -> str:
    """``code: message`` of an OPA error document, with its first detailed error."""
    if not isinstance(body, dict):
        return _shorten(body)
    text = ": ".join(str(body[k]) for k in ("code", "message") if body.get(k))
    details = [e.get("message") for e in body.get("errors") or [] if isinstance(e, dict)]
    if details and details[0]:
        text += f" ({details[0]})"
    return text or _shorten(body)


def _reason(exc: BaseException) -> str:
    found = _ERRNO.search(str(exc))
    return found.group(0).strip() if found else type(exc).__name__


def _shorten(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
