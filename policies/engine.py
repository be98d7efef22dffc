"""What a policy engine answers, and the compile check every bundle passes first.

An engine loads a ``PolicyBundle`` and evaluates input documents against its guardrails
(``data.okrgov.guardrails.deny`` and ``.warn``, sets of ``{"rule", "message"}``), giving a
``Verdict``. Two engines implement it: the embedded regorus engine (``policies.embedded``)
and an OPA server. ``compile_bundle`` is the check a bundle passes before anything uses
it: every module parses, the rules are safe, every function called exists, and the bundle
defines the guardrails package.

regorus reports a problem in a module as text of this shape (``RUST_BACKTRACE`` may append
a "Stack backtrace:" section, and its RVM compiler a "Caused by:" one)::

    <newline>--> guardrails.rego:42:7
      |
    42 |   foo(input.x)
      |       ^
    error: could not find function foo

``PolicyCompileError.from_regorus`` reads the module, line, column and message out of it.


Over 300 lines on purpose: the engine's contract and the compile check every engine runs
first are one definition of what a bundle must be."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar

import regorus

from policies.bundle import PolicyBundle, canonical_json

P = ParamSpec("P")
R = TypeVar("R")

#: The package whose ``deny`` and ``warn`` sets every engine evaluates.
GUARDRAILS_PACKAGE = "data.okrgov.guardrails"
DENY_RULE = f"{GUARDRAILS_PACKAGE}.deny"
WARN_RULE = f"{GUARDRAILS_PACKAGE}.warn"

# "--> file.rego:12:5" (the file name may itself contain colons).
_LOCATION = re.compile(r"^\s*-->\s*(?P<module>.+):(?P<line>\d+):(?P<column>\d+)\s*$", re.M)
# "error: message" (one line).
_MESSAGE = re.compile(r"^\s*error:[ \t]*(?P<message>\S.*?)\s*$", re.M)
_BACKTRACE = "Stack backtrace:"
_CAUSE = "Caused by:"


@dataclass(frozen=True, order=True)
class Violation:
    """One rule's finding: its stable id and a message telling the author how to fix it."""

    rule: str
    message: str


@dataclass(frozen=True)
class Verdict:
    """What the guardrails said about one input: ``deny`` blocks the command, ``warn`` is
    recorded and shown. Both lists are sorted by (rule, message)."""

    deny: list[Violation]
    warn: list[Violation]

    @property
    def allowed(self) -> bool:
        return not self.deny

    @classmethod
    def of(cls, deny: Any, warn: Any) -> Verdict:
        """A verdict from the evaluated sets (lists of ``{"rule", "message"}`` objects)."""
        return cls(deny=_violations(deny, "deny"), warn=_violations(warn, "warn"))


class PolicyEngine(Protocol):
    """Evaluates input documents against the guardrails of the bundle it has loaded."""

    def load(self, bundle: PolicyBundle) -> None:
        """Use this bundle from now on; raises ``PolicyCompileError`` if it is invalid."""
        ...

    def evaluate(self, input: dict[str, Any]) -> Verdict:
        """The verdict on one input document; raises ``PolicyEvaluationError``."""
        ...


class PolicyError(Exception):
    """Base of the errors a policy engine raises."""


class PolicyCompileError(PolicyError):
    """A bundle that cannot be used; names the module and line when regorus gives them."""

    def __init__(
        self,
        module: str | None,
        line: int | None,
        message: str,
        column: int | None = None,
    ) -> None:
        self.module = module
        self.line = line
        self.column = column
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.module or "bundle"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"

    @classmethod
    def from_regorus(cls, text: str, module: str | None = None) -> PolicyCompileError:
        """Parse regorus's error text; ``module`` is used when the text names none."""
        location, message = parse_regorus_error(text)
        if location is None:
            return cls(module, None, message)
        name, line, column = location
        return cls(name, line, message, column)


class PolicyEvaluationError(PolicyError):
    """Evaluating an input failed (a runtime error in a rule, or a malformed result)."""


class PolicyTimeout(PolicyEvaluationError):
    """Evaluating took longer than its time budget and was stopped: the caller fails
    closed. ``budget`` is the budget in seconds; the message names it."""

    def __init__(self, message: str, budget: float) -> None:
        super().__init__(message)
        self.budget = budget


def budget_text(seconds: float) -> str:
    """A budget as people read it: ``500 ms``, ``2.5 s``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:g} s"


def parse_regorus_error(text: str) -> tuple[tuple[str, int, int] | None, str]:
    """((module, line, column) or None, message) from a regorus error text.

    The RVM compiler nests one report in another ("error: Compilation error:" followed by
    the inner "--> g.rego:7:20 ... error: Unknown function: 'f'"); the innermost (last)
    location and message are the precise ones.
    """
    text = text.split(_BACKTRACE, 1)[0].split(_CAUSE, 1)[0]
    locations = list(_LOCATION.finditer(text))
    messages = [m.group("message") for m in _MESSAGE.finditer(text)]
    message = messages[-1] if messages else " ".join(text.split()) or "unknown error"
    if not locations:
        return None, message
    found = locations[-1]
    return (found.group("module"), int(found.group("line")), int(found.group("column"))), message


def compile_bundle(bundle: PolicyBundle, *, include_tests: bool = False) -> regorus.Engine:
    """A regorus engine with the bundle's modules and data, checked and ready to evaluate.

    Raises ``PolicyCompileError`` for a module that does not parse (module and line), a
    rule that is unsafe or conflicts (module and line), a call to a function that does not
    exist (module and line), data that is not a JSON object, and a bundle without the
    ``okrgov.guardrails`` package and its ``deny`` rule. With ``include_tests`` the test
    modules are loaded too (for ``policies.testing``).

    The engine is bound to the thread that called this (regorus engines are unsendable).
    """
    try:
        return _compiled(bundle, include_tests)
    except PolicyCompileError as exc:
        # A fresh error without the traceback: the traceback's frames hold the half-built
        # engine, which must be dropped here, on its own thread, not wherever the error
        # is finally handled (PyO3 refuses to drop an unsendable engine elsewhere).
        error = PolicyCompileError(exc.module, exc.line, exc.message, exc.column)
    raise error


def _compiled(bundle: PolicyBundle, include_tests: bool) -> regorus.Engine:
    modules = dict(bundle.modules)
    if include_tests:
        modules.update(bundle.tests)
    if not bundle.modules:
        raise PolicyCompileError(None, None, "the bundle has no Rego module")
    engine = new_engine(modules, bundle.data)
    if GUARDRAILS_PACKAGE not in engine.get_packages():
        raise PolicyCompileError(
            None, None, "no module declares `package okrgov.guardrails`: the guardrails are missing"
        )
    _analyse(engine, bundle)
    return engine


def new_engine(modules: dict[str, str], data: Any) -> regorus.Engine:
    """A regorus engine with these modules (in name order) and this data document; raises
    ``PolicyCompileError`` for a module that does not parse or data that is not JSON (with
    no engine in its traceback: ``with_no_engine``)."""
    engine = regorus.Engine()
    refused = _filled(engine, modules, data)
    if refused is not None:
        del engine  # dropped here, on its own thread
        raise refused
    return engine


def _filled(
    engine: regorus.Engine, modules: dict[str, str], data: Any
) -> PolicyCompileError | None:
    """Load the modules and data into the engine; the refusal, if any (not raised)."""
    engine.set_gather_prints(True)  # print() in a rule must not write to the server's stderr
    for name in sorted(modules):
        try:
            engine.add_policy(name, modules[name])
        except RuntimeError as exc:
            return PolicyCompileError.from_regorus(str(exc), name)
    if not isinstance(data, dict):
        return PolicyCompileError("data.json", None, "the data document must be a JSON object")
    try:
        engine.add_data_json(canonical_json(data))
    except (RuntimeError, ValueError, TypeError) as exc:
        return PolicyCompileError("data.json", None, f"invalid data: {exc}")
    return None


def with_no_engine(function: Callable[P, R]) -> Callable[P, R]:
    """``function``, whose ``PolicyError`` is raised afresh, without the traceback whose
    frames hold the regorus engines it made: those are dropped before it is raised, on
    their own thread, not wherever the error is finally freed (an error raised on a pool's
    thread is often freed on another, where PyO3 refuses to drop an unsendable engine)."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except PolicyError as exc:
            error = _fresh(exc)
        raise error

    return run


def _fresh(exc: PolicyError) -> PolicyError:
    """The same error (class, message, attributes) with no traceback, cause or context."""
    fresh = type(exc).__new__(type(exc), *exc.args)
    fresh.args = exc.args
    fresh.__dict__.update(exc.__dict__)
    fresh.__suppress_context__ = True
    return fresh


def prepare(engine: regorus.Engine) -> None:
    """Run regorus's analysis of every loaded module (it happens on the first query):
    unsafe variables and conflicting rules raise ``PolicyCompileError`` with module and
    line. Clones of a prepared engine do not repeat it."""
    try:
        engine.eval_query_as_json("true")
    except RuntimeError as exc:
        raise PolicyCompileError.from_regorus(str(exc)) from None


def _analyse(engine: regorus.Engine, bundle: PolicyBundle) -> None:
    """Find what parsing does not: unsafe variables, conflicting rules, unknown functions."""
    prepare(engine)
    if not defines(engine, DENY_RULE):
        raise PolicyCompileError(
            None, None, "package okrgov.guardrails defines no `deny` rule (`deny contains ...`)"
        )
    engine.set_input_json("{}")
    for rule in (DENY_RULE, WARN_RULE):
        try:
            engine.eval_query_as_json(rule)
        except RuntimeError as exc:
            raise PolicyCompileError.from_regorus(str(exc)) from None
    entry_points = [r for r in (DENY_RULE, WARN_RULE) if defines(engine, r)]
    check_functions_exist(bundle.modules, bundle.data, entry_points)


def defines(engine: regorus.Engine, rule: str) -> bool:
    """Whether a module defines this rule (``eval_rule`` refuses a rule that none does)."""
    return defined_in(json.loads(engine.get_ast_as_json()), rule)


def defined_in(modules: list[dict[str, Any]], rule: str) -> bool:
    """Whether a module of regorus's AST (``get_ast_as_json``, parsed) defines this rule."""
    package, _, name = rule.rpartition(".")
    return any(
        f"data.{reference_text(m['ast']['package']['refr'])}" == package
        and any(rule_name(r) == name for r in m["ast"]["rules"])
        for m in modules
    )


def rule_name(rule: dict[str, Any]) -> str:
    """The name a rule of regorus's AST defines ("deny" for ``deny contains ...``)."""
    head = rule.get("Spec", {}).get("head", {})
    for kind in ("Compr", "Set", "Func"):
        if kind in head:
            return reference_text(head[kind]["refr"])
    return ""


def reference_text(node: dict[str, Any]) -> str:
    """The dotted text of a reference in regorus's AST ("okrgov.guardrails_test")."""
    if "Var" in node:
        return str(node["Var"]["value"])
    if "RefDot" in node:
        inner = node["RefDot"]
        return f"{reference_text(inner['refr'])}.{inner['field'][1]}"
    if "RefBrack" in node:
        inner = node["RefBrack"]
        index = inner["index"]
        base = reference_text(inner["refr"])
        if "String" in index:
            return f"{base}.{index['String']['value']}"
        return base  # obj[key] := ... defines obj
    return ""


def check_functions_exist(modules: dict[str, str], data: Any, entry_points: list[str]) -> None:
    """The interpreter reports a call to a missing function only when it reaches the call;
    regorus's RVM compiler finds every such call reachable from deny and warn. Its other
    refusals (features it does not compile yet, such as ``walk`` or ``print``) are not
    errors of the bundle and are ignored."""
    try:
        regorus.Program.compile_from_modules(
            canonical_json(data),
            sorted(modules.items()),
            entry_points,
        )
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a Rust panic arrives as a BaseException
        text = str(exc)
        if "Unknown function" in text.split(_BACKTRACE, 1)[0]:
            raise PolicyCompileError.from_regorus(text) from None


def _violations(value: Any, rule: str) -> list[Violation]:
    if value is None or value == []:
        return []
    if not isinstance(value, list):
        raise PolicyEvaluationError(f"{rule} must be a set of {{rule, message}} objects")
    found = set()
    for item in value:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("rule"), str)
            and isinstance(item.get("message"), str)
        ):
            raise PolicyEvaluationError(
                f"{rule} holds {item!r}; every element must be {{rule, message}} strings"
            )
        found.add(Violation(item["rule"], item["message"]))
    return sorted(found)
