"""The versions' Rego tests in the what-if (``policies.whatif_job``), run in the review
worker under the engine the what-if judges with.

``embedded`` runs them on a prepared regorus engine, each on a clone (``run_test``), as
before; ``opa`` on OPA's own Go evaluator (``policies.testing.run_opa_tests``, one query
per test package, so three runs of the shipped tests fit well inside a review budget).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import regorus

from policies.engine import PolicyCompileError, new_engine, prepare
from policies.testing import TestResult, run_opa_tests, run_test, test_cases

#: The engine names (``policies.engines.EngineName``) this module knows.
OPA = "opa"


def version_tests(engine: str, bundle: dict[str, Any], tests: dict[str, str]) -> dict[str, Any]:
    """``{"results": [...]}``: these test modules run against the bundle's modules and
    data under ``engine``; with ``"error"`` when they could not be loaded (a module that
    does not compile, a rule they call that the version lacks)."""
    if not tests:
        return {"results": []}
    try:
        if engine == OPA:
            results = run_opa_tests(bundle["modules"], tests, bundle["data"])
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
