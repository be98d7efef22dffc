"""The versions' Rego tests in the what-if (``policies.whatif_job``), run in the review
worker under the engine the what-if judges with.

``embedded`` runs them on a prepared regorus engine, each on a clone (``run_test``), as
before. ``opa`` runs them on OPA's own Go evaluator with the results
``policies.testing.run_opa_tests`` gives, but faster: OPA prepares every distinct query
anew (~40 ms for the shipped bundle), so one query per test costs ~3 s for the shipped
tests, three runs of which (the proposal's tests, the active version's under both
versions) would take most of a 10 s review budget. Here one query per test package asks
for every test's value at once; only a test that is not ``true`` is run again on its own
(``run_opa_test``, for its exact outcome and ``print()`` output), and when the package's
query fails as a whole (a test raised an error) every test of it is run on its own.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from itertools import groupby
from typing import Any

import regorus

from policies.engine import PolicyCompileError, new_engine, prepare
from policies.opa_golib import compile_error, load_modules
from policies.testing import PASSED, TestCase, TestResult, run_opa_test, run_test, test_cases

#: The engine names (``policies.engines.EngineName``) this module knows.
OPA = "opa"
#: What OPA's engine evaluates to compile every module (it compiles lazily).
_COMPILE_QUERY = "x := 1"


def version_tests(engine: str, bundle: dict[str, Any], tests: dict[str, str]) -> dict[str, Any]:
    """``{"results": [...]}``: these test modules run against the bundle's modules and
    data under ``engine``; with ``"error"`` when they could not be loaded (a module that
    does not compile, a rule they call that the version lacks)."""
    if not tests:
        return {"results": []}
    try:
        if engine == OPA:
            results = _opa_tests(bundle["modules"], tests, bundle["data"])
        else:
            results = _embedded_tests(bundle["modules"], tests, bundle["data"])
    except PolicyCompileError as exc:
        return {"results": [], "error": str(exc)}
    return {"results": [asdict(result) for result in results]}


def _embedded_tests(modules: dict[str, str], tests: dict[str, str], data: Any) -> list[TestResult]:
    engine: regorus.Engine = new_engine({**modules, **tests}, data)
    prepare(engine)
    cases = test_cases(json.loads(engine.get_ast_as_json()), set(tests))
    return [run_test(engine, case) for case in cases]


def _opa_tests(modules: dict[str, str], tests: dict[str, str], data: Any) -> list[TestResult]:
    """Every test, listed by regorus as ``run_opa_tests`` lists them, run by OPA's Go
    evaluator a package at a time (see the module docstring)."""
    listing = new_engine({**modules, **tests}, data)
    cases = test_cases(json.loads(listing.get_ast_as_json()), set(tests))
    engine = load_modules({**modules, **tests}, data)
    try:
        engine.print_handler = _discard_print
        _compile(engine)
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
    the query fails (its tests are then run one by one)."""
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


def _compile(engine: Any) -> None:
    from opa_bindings import OpaError

    try:
        engine.eval_query(_COMPILE_QUERY)
    except OpaError as exc:
        raise compile_error(exc.message) from None


def _discard_print(message: str, location: str) -> None:
    """``print()`` output of a test: kept in ``last_prints`` for ``run_opa_test``."""
