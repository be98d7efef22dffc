"""Guardrail bundles for the tests of the policy sandbox and the proposal checks: the
shipped bundle with a rule added, changed or slowed down.

A slow rule is a quadratic loop that takes minutes in regorus (~0.4 µs an iteration, 10^8
of them) and allocates nothing; the tests never wait for it: the sandbox kills it at its
budget."""

from __future__ import annotations

import copy
from typing import Any

from policies.bundle import PolicyBundle, load_shipped_bundle

SHIPPED = load_shipped_bundle()
GUARDRAILS = "guardrails.rego"

#: A body that runs for minutes.
FOREVER = "every i in numbers.range(1, 10000) { every j in numbers.range(1, 10000) { i + j > 0 } }"


def slow_rule(name: str, condition: str) -> str:
    """A helper rule that is true, after minutes, when ``condition`` holds, and a deny
    rule ``slow`` that reads it."""
    return (
        f"\n{name} if {{\n\t{condition}\n\t{FOREVER}\n}}\n\n"
        f'deny contains violation("slow", "never seen") if {name}\n'
    )


def shipped_with(
    text: str = "",
    *,
    module: str = GUARDRAILS,
    data: dict[str, Any] | None = None,
    tests: bool = True,
) -> PolicyBundle:
    """The shipped bundle with ``text`` appended to ``module`` (a new module of the
    guardrails package when it is not ``guardrails.rego``), its data (or ``data``) and,
    with ``tests``, its tests."""
    modules = dict(SHIPPED.modules)
    if module in modules:
        modules[module] = modules[module] + text
    elif text:
        modules[module] = "package okrgov.guardrails\n\nimport rego.v1\n" + text
    return PolicyBundle(
        modules=modules,
        data=copy.deepcopy(SHIPPED.data) if data is None else data,
        tests=dict(SHIPPED.tests) if tests else {},
    )


def line_of(text: str, needle: str) -> int:
    """The number of the first line of ``text`` that contains ``needle``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise ValueError(f"{needle!r} is not in the text")
