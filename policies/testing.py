"""Run the Rego tests of a policy directory, as ``opa test`` does.

Every ``*.rego`` file and ``data.json`` of the directory are loaded together; every rule
named ``test_...`` (not a function) in the packages of the ``*_test.rego`` files is
evaluated on its own, and passes when it evaluates to ``true``. A test that is false or
undefined fails; a test that raises an error fails with the error message. Output of
``print()`` in a failing test is added to its message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.bundle import load_bundle
from policies.engine import new_engine, parse_regorus_error, prepare, reference_text

TEST_PREFIX = "test_"


@dataclass(frozen=True)
class TestResult:
    """One test rule's outcome; ``name`` is its full path, e.g.
    ``data.okrgov.guardrails_test.test_pay_linked_key_result_is_denied``."""

    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    message: str


def run_policy_tests(directory: str | Path) -> list[TestResult]:
    """Results of every test rule in the directory's ``*_test.rego`` modules, in file and
    source order. Raises ``PolicyCompileError`` when a module does not parse or fails
    regorus's analysis (with module and line)."""
    bundle = load_bundle(directory)
    engine = new_engine({**bundle.modules, **bundle.tests}, bundle.data)
    prepare(engine)
    results = []
    for name in _test_rules(engine, set(bundle.tests)):
        results.append(_run(engine, name))
    return results


def _run(template: Any, name: str) -> TestResult:
    engine = template.clone()
    engine.set_gather_prints(True)
    try:
        value = engine.eval_rule_as_json(name)
    except RuntimeError as exc:
        location, message = parse_regorus_error(str(exc))
        if location is not None:
            module, line, column = location
            message = f"{module}:{line}:{column}: {message}"
        return TestResult(name, False, f"error: {message}{_prints(engine)}")
    if value.strip() == "true":
        return TestResult(name, True, "")
    outcome = "undefined" if value == '"<undefined>"' else f"evaluated to {value.strip()}"
    return TestResult(name, False, f"{outcome}, not true{_prints(engine)}")


def _prints(engine: Any) -> str:
    printed = engine.take_prints()
    return "".join(f"\n  {line}" for line in printed)


def _test_rules(engine: Any, test_files: set[str]) -> list[str]:
    """Full paths of the test rules of these files, in file name and source order."""
    names: list[str] = []
    modules = sorted(json.loads(engine.get_ast_as_json()), key=lambda m: m["source"]["file"])
    for module in modules:
        if module["source"]["file"] not in test_files:
            continue
        package = reference_text(module["ast"]["package"]["refr"])
        for rule in module["ast"]["rules"]:
            head = rule.get("Spec", {}).get("head", {})
            # Functions, partial sets and objects, and dotted heads are not tests.
            if "Compr" not in head or "Var" not in head["Compr"]["refr"]:
                continue
            rule_name = reference_text(head["Compr"]["refr"])
            if rule_name.startswith(TEST_PREFIX):
                path = f"data.{package}.{rule_name}"
                if path not in names:
                    names.append(path)
    return names
