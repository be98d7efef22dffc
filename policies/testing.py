"""Run the Rego tests of a policy directory, as ``opa test`` does, under either engine.

Every ``*.rego`` file and ``data.json`` of the directory are loaded together; every rule
named ``test_...`` (not a function) in the packages of the ``*_test.rego`` files is
evaluated on its own, and passes when it evaluates to ``true``. A test that is false or
undefined fails; a test that raises an error fails with the error message. Output of
``print()`` in a failing test is added to its message.

The same tests run under both engines, because a test that passes under one
may fail under the other (they differ on Unicode case mapping, regex classes, ...):
``embedded`` is regorus (``run_test`` on a prepared engine, also what the review workers
run), ``opa`` is OPA's own Go evaluator in this process (``run_opa_tests``). The tests to
run are listed from regorus's AST under both, so both engines run the same ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from policies.bundle import load_bundle
from policies.engine import (
    new_engine,
    parse_regorus_error,
    prepare,
    reference_text,
    with_no_engine,
)
from policies.opa_golib import compile_error, load_modules

#: The engines tests run under (``policies.engines.EngineName``).
EMBEDDED, OPA = "embedded", "opa"
#: What OPA's engine evaluates to compile every module (it compiles lazily).
_COMPILE_QUERY = "x := 1"

TEST_PREFIX = "test_"


#: Outcomes of a test: it passed; it was false (or any value but true), undefined, or
#: raised an error; it ran past its time budget; it was not run (an earlier test ran past
#: the budget, or the checks ran out of time).
PASSED, FALSE, UNDEFINED, ERROR, OVER_BUDGET, NOT_RUN = (
    "passed",
    "false",
    "undefined",
    "error",
    "over_budget",
    "not_run",
)


@dataclass(frozen=True)
class TestResult:
    """One test rule's outcome; ``name`` is its full path, e.g.
    ``data.okrgov.guardrails_test.test_pay_linked_key_result_is_denied``, ``location``
    its module and line (``guardrails_test.rego:170``)."""

    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    message: str
    outcome: str = PASSED
    location: str | None = None


@dataclass(frozen=True)
class TestCase:
    """A test rule to run: its full path and where it is defined."""

    __test__ = False

    name: str
    location: str


def run_policy_tests(directory: str | Path, engine: str = EMBEDDED) -> list[TestResult]:
    """Results of every test rule in the directory's ``*_test.rego`` modules, in file and
    source order, evaluated in this process under ``engine`` (``policies.review`` runs the
    same tests in a worker process, each under a time budget). Raises
    ``PolicyCompileError`` when a module does not parse or fails regorus's analysis (with
    module and line), or under ``opa`` when OPA's compiler refuses one."""
    bundle = load_bundle(directory)
    if engine == OPA:
        return run_opa_tests(bundle.modules, bundle.tests, bundle.data)
    return _run_embedded_tests(bundle.modules, bundle.tests, bundle.data)


@with_no_engine
def _run_embedded_tests(
    modules: dict[str, str], tests: dict[str, str], data: Any
) -> list[TestResult]:
    engine = new_engine({**modules, **tests}, data)
    prepare(engine)
    cases = test_cases(json.loads(engine.get_ast_as_json()), set(tests))
    return [run_test(engine, case) for case in cases]


@with_no_engine
def run_opa_tests(modules: dict[str, str], tests: dict[str, str], data: Any) -> list[TestResult]:
    """Every test rule of the ``tests`` modules, run against ``modules`` and ``data`` by
    OPA's Go evaluator in this process, with no time budget; in the order and under the
    names regorus lists them (regorus parses the modules to list them). Raises
    ``PolicyCompileError`` when OPA's compiler refuses a module, ``OpaUnavailable``
    when OPA's evaluator is not installed."""
    listing = new_engine({**modules, **tests}, data)
    cases = test_cases(json.loads(listing.get_ast_as_json()), set(tests))
    engine = load_modules({**modules, **tests}, data)
    try:
        engine.print_handler = _discard_print
        _compile(engine)
        # OPA prepares every distinct query anew (~40 ms for the shipped bundle), so one
        # query per package asks for every test's value at once; only a test that is not
        # true runs again on its own, for its exact outcome and print() output.
        values: dict[str, Any] = {}
        for package, members in groupby(cases, key=_package):
            values.update(_package_values(engine, package, list(members)))
        return [
            TestResult(case.name, True, "", PASSED, case.location)
            if values.get(case.name) is True
            else run_opa_test(engine, case)
            for case in cases
        ]
    finally:
        engine.close()


def _package_values(engine: Any, package: str, cases: list[TestCase]) -> dict[str, Any]:
    """The value of each test of one package that is defined, by full name; nothing when
    the query fails (a test raised an error: its tests are then run one by one)."""
    from opa_bindings import OpaError

    names = [case.name.rpartition(".")[2] for case in cases]
    query = f"value := {{name: v | some name in {json.dumps(names)}; v := {package}[name]}}"
    try:
        found = engine.eval_query(query)
    except OpaError:
        return {}
    if len(found) != 1 or not isinstance(found[0].get("value"), dict):
        return {}
    return {f"{package}.{name}": value for name, value in found[0]["value"].items()}


def _package(case: TestCase) -> str:
    return case.name.rpartition(".")[0]


def run_opa_test(engine: Any, case: TestCase) -> TestResult:
    """Evaluate one test rule on a compiled Go engine (``opa_bindings.OpaEngine``)."""
    from opa_bindings import OpaError

    name = case.name
    try:
        found = engine.eval_query(f"value := {name}")
    except OpaError as exc:
        message = f"error: {exc.message}{_opa_prints(engine)}"
        return TestResult(name, False, message, ERROR, case.location)
    if not found:
        message = f"undefined, not true{_opa_prints(engine)}"
        return TestResult(name, False, message, UNDEFINED, case.location)
    value = found[0]["value"]
    if value is True:
        return TestResult(name, True, "", PASSED, case.location)
    message = f"evaluated to {json.dumps(value)}, not true{_opa_prints(engine)}"
    return TestResult(name, False, message, FALSE, case.location)


def _compile(engine: Any) -> None:
    from opa_bindings import OpaError

    try:
        engine.eval_query(_COMPILE_QUERY)
    except OpaError as exc:
        raise compile_error(exc.message) from None


def _discard_print(message: str, location: str) -> None:
    """``print()`` output of a test: kept in ``last_prints`` (Go writes it to stderr
    otherwise)."""


def _opa_prints(engine: Any) -> str:
    return "".join(f"\n  {location}: {message}" for message, location in engine.last_prints)


def run_test(template: Any, case: TestCase) -> TestResult:
    """Evaluate one test rule on a clone of a prepared engine."""
    name = case.name
    engine = template.clone()
    engine.set_gather_prints(True)
    try:
        value = engine.eval_rule_as_json(name)
    except RuntimeError as exc:
        location, message = parse_regorus_error(str(exc))
        if location is not None:
            module, line, column = location
            message = f"{module}:{line}:{column}: {message}"
        return TestResult(name, False, f"error: {message}{_prints(engine)}", ERROR, case.location)
    if value.strip() == "true":
        return TestResult(name, True, "", PASSED, case.location)
    undefined = value == '"<undefined>"'
    shown = "undefined" if undefined else f"evaluated to {value.strip()}"
    return TestResult(
        name,
        False,
        f"{shown}, not true{_prints(engine)}",
        UNDEFINED if undefined else FALSE,
        case.location,
    )


def _prints(engine: Any) -> str:
    printed = engine.take_prints()
    return "".join(f"\n  {line}" for line in printed)


def test_cases(ast: list[dict[str, Any]], test_files: set[str]) -> list[TestCase]:
    """The test rules of these files, in file name and source order, from regorus's AST
    (``Engine.get_ast_as_json``, parsed)."""
    cases: dict[str, TestCase] = {}
    modules = sorted(ast, key=lambda m: m["source"]["file"])
    for module in modules:
        file = module["source"]["file"]
        if file not in test_files:
            continue
        package = reference_text(module["ast"]["package"]["refr"])
        for rule in module["ast"]["rules"]:
            spec = rule.get("Spec", {})
            head = spec.get("head", {})
            # Functions, partial sets and objects, and dotted heads are not tests.
            if "Compr" not in head or "Var" not in head["Compr"]["refr"]:
                continue
            rule_name = reference_text(head["Compr"]["refr"])
            if rule_name.startswith(TEST_PREFIX):
                path = f"data.{package}.{rule_name}"
                cases.setdefault(path, TestCase(path, f"{file}:{spec['span']['line']}"))
    return list(cases.values())
