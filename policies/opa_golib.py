"""The guardrails evaluated by OPA's own Go evaluator, in this process.

``OpaGoEngine`` is a ``PolicyEngine`` on ``opa-golib-python-bindings``: OPA's Go engine
built as a shared library and loaded with ctypes (``from opa_bindings import OpaEngine``).
It answers exactly as an OPA server would (same compiler, same built-ins, same number
arithmetic), without a server process. okrgov uses it wherever OPA's answer is needed and
no server is at hand: the engine equivalence tests, ``okrgov policy test`` (every test
under both engines), the divergence check of a proposed version, the what-if and the
replay under ``--engine opa``, and the OPA server test double.

The wheel declares Python 3.14 but loads on 3.11, so pip will not install it; ``make
venv`` downloads it (``pip download --python-version 3.14 ...``), unpacks it under
``.venv/opa-golib/`` and puts that directory on the path with a ``.pth`` file. Where it is
missing, ``OpaGoEngine()`` raises ``OpaUnavailable`` saying how to get it.

Loading a bundle builds a new Go engine (OPA merges data documents and keeps modules by
name, so an older bundle's keys would survive on a reused one) and evaluates ``deny`` and
``warn`` once on an empty input, so a module OPA refuses (parse, compile, unknown
function) is a ``PolicyCompileError`` at load, naming module and line as OPA reports
them. One query asks for both sets. The Go engine serializes its evaluations with a lock
of its own, so one instance serves every thread.

The library starts Go's runtime in the process that loads it, and a Go runtime does not
survive ``fork``: processes that fork workers (the sandbox's fork server is started with
``exec``, never forked from a loaded parent) load it only after they have forked.
"""

from __future__ import annotations

import re
import resource
import threading
from typing import Any

from policies.bundle import PolicyBundle
from policies.engine import (
    DENY_RULE,
    WARN_RULE,
    PolicyCompileError,
    PolicyError,
    PolicyEvaluationError,
    Verdict,
    compile_bundle,
    defines,
)

INSTALL_HINT = (
    "OPA's Go evaluator (opa-golib-python-bindings) is not installed in this environment; "
    "`make venv` downloads it into .venv/opa-golib"
)

# "guardrails.rego:42: rego_compile_error: ..." (OPA's error text, possibly several).
_LOCATED = re.compile(r"(?P<module>[^\s:]+\.rego):(?P<line>\d+): (?P<message>[^\n]+)")


class OpaUnavailable(PolicyError):
    """The Go evaluator cannot be loaded here (the wheel is not on the path)."""


def available() -> bool:
    """Whether OPA's Go evaluator can be loaded in this process."""
    try:
        import opa_bindings  # noqa: F401
    except ImportError:
        return False
    return True


#: Address space Go's runtime reserves when it starts (measured: about 1.8 GiB of
#: virtual memory, some 50 MB of it resident, for the shipped bundle on 2 CPUs).
GO_ADDRESS_SPACE = 3 << 30
_room = threading.Lock()
_room_made = False


def _new_go_engine() -> Any:
    try:
        from opa_bindings import OpaEngine as GoEngine
    except ImportError:
        raise OpaUnavailable(INSTALL_HINT) from None
    _make_room_for_go()
    return GoEngine()


def _make_room_for_go() -> None:
    """Widen a soft address-space limit (a policy worker's: ``policies.worker``) by what
    Go's runtime reserves, once per process: under the worker's limit Go's reservations
    fail at random and it aborts the process ("fatal error: out of memory" with a few
    MB in use). What Go actually allocates stays bounded by the widened limit."""
    global _room_made
    with _room:
        if _room_made:
            return
        _room_made = True
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return
        wanted = soft + GO_ADDRESS_SPACE
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


class OpaGoEngine:
    """``PolicyEngine`` on OPA's Go evaluator in this process (see the module docstring)."""

    name = "opa"

    def __init__(self, bundle: PolicyBundle | None = None) -> None:
        self._lock = threading.Lock()
        self._engine: Any = None
        self._query = ""
        self._bundle: PolicyBundle | None = None
        if not available():  # fail now, not at the first decision, when it is missing
            raise OpaUnavailable(INSTALL_HINT)
        if bundle is not None:
            self.load(bundle)

    @property
    def bundle(self) -> PolicyBundle | None:
        return self._bundle

    def load(self, bundle: PolicyBundle, *, include_tests: bool = False) -> None:
        """Check the bundle with regorus's compile check and OPA's compiler, then use it."""
        has_warn = defines(compile_bundle(bundle, include_tests=include_tests), WARN_RULE)
        modules = dict(bundle.modules)
        if include_tests:
            modules.update(bundle.tests)
        engine = load_modules(modules, bundle.data)
        query = f"deny := {DENY_RULE}" + (f"; warn := {WARN_RULE}" if has_warn else "")
        try:
            _evaluate(engine, query, {})
        except PolicyEvaluationError as exc:
            engine.close()
            raise compile_error(str(exc)) from None
        with self._lock:
            old, self._engine = self._engine, engine
            self._query, self._bundle = query, bundle
        if old is not None:
            old.close()

    def evaluate(self, input: dict[str, Any]) -> Verdict:
        engine, query = self._engine, self._query
        if engine is None:
            raise PolicyEvaluationError("no policy bundle loaded")
        answer = _evaluate(engine, query, input)
        return Verdict.of(answer.get("deny"), answer.get("warn"))

    def query(self, query: str, input: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every binding of a Rego query on the loaded bundle (for the policy tests)."""
        if self._engine is None:
            raise PolicyEvaluationError("no policy bundle loaded")
        return _bindings(self._engine, query, input)

    def close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()


def load_modules(modules: dict[str, str], data: dict[str, Any]) -> Any:
    """A Go engine holding these modules (in name order) and this data document; raises
    ``PolicyCompileError`` for a module OPA refuses."""
    from opa_bindings import OpaError

    engine = _new_go_engine()
    try:
        for name in sorted(modules):
            engine.add_policy(name, modules[name])
        engine.add_data(data)
    except OpaError as exc:
        engine.close()
        raise compile_error(exc.message) from None
    return engine


def compile_error(text: str) -> PolicyCompileError:
    """OPA's error text as a ``PolicyCompileError`` at its first located error."""
    found = _LOCATED.search(text)
    if found is None:
        return PolicyCompileError(None, None, f"OPA: {' '.join(text.split())}")
    return PolicyCompileError(
        found.group("module"), int(found.group("line")), f"OPA: {found.group('message')}"
    )


def _evaluate(engine: Any, query: str, input: dict[str, Any]) -> dict[str, Any]:
    found = _bindings(engine, query, input)
    if len(found) != 1:
        raise PolicyEvaluationError(f"OPA gave {len(found)} answers to the guardrails query")
    return found[0]


def _bindings(engine: Any, query: str, input: dict[str, Any] | None) -> list[dict[str, Any]]:
    from opa_bindings import OpaError

    try:
        found: list[dict[str, Any]] = engine.eval_query(query, input)
    except OpaError as exc:
        raise PolicyEvaluationError(f"OPA: {exc.message}") from None
    return found
