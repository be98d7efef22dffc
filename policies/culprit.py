"""Which rule made a check run past its budget: probe each rule by name, under the budget.

When a test (or the analysis of ``deny`` on an empty input) runs past the decision budget,
its worker is killed, and the test's name alone does not tell a risk officer what to fix.
So, in a fresh worker, every rule of the policy modules that can be evaluated by name is
evaluated on its own, each under the decision budget, rules before those that read them
(``policies.rule_map.probe_order``): the first to run past the budget is the culprit. The
probes use the input the check used when it is known (``{}`` for the analysis), then the
input documents the test's module builds as plain rules (``base_input``...). A rule with
several definitions (``deny contains ...`` has many) is then narrowed down to the one
definition that is slow on its own, evaluated with the others blanked out, so the answer
names its module and line.

A check that is slow only through an input built inside the test itself, or only through
several rules together, finds no culprit; the refusal then names the test alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policies.bundle import PolicyBundle
from policies.engine import PolicyTimeout
from policies.review import ReviewSession, ReviewTimeout
from policies.sandbox import expect


@dataclass(frozen=True)
class Culprit:
    """The rule that ran past the budget on its own: its path and the definition's place."""

    rule: str
    location: str


def find_culprit(
    session: ReviewSession,
    bundle: PolicyBundle,
    inputs: list[str],
    fixture_modules: dict[str, str],
) -> Culprit | None:
    """The first rule of the bundle's modules that runs past the decision budget on one
    of these inputs (canonical JSON texts) or on an input ``fixture_modules`` build."""
    load = {
        "op": "load",
        "slot": "probe",
        "modules": {**bundle.modules, **fixture_modules},
        "data": bundle.data,
    }
    expect(
        session.ask(load, "loading the bundle to probe its rules", session.budgets.start), "probe"
    )
    plan = expect(
        session.ask(
            {
                "op": "rules",
                "slot": "probe",
                "files": sorted(bundle.modules),
                "fixture_files": sorted(fixture_modules),
            },
            "listing the rules to probe",
        ),
        "probe",
    )
    candidates = list(dict.fromkeys([*inputs, *plan["inputs"]]))
    for text in candidates:
        for rule in plan["rules"]:
            try:
                session.ask(
                    {"op": "probe", "slot": "probe", "rule": rule["path"], "input": text},
                    f"probing {rule['path']}",
                )
            except ReviewTimeout:
                raise
            except PolicyTimeout:
                return Culprit(rule["path"], _definition(session, bundle, rule, text))
    return None


def _definition(
    session: ReviewSession, bundle: PolicyBundle, rule: dict[str, Any], text: str
) -> str:
    """The place of the rule's definition that is slow on its own (the first one when
    there is only one, or when none is slow alone)."""
    definitions = rule["definitions"]
    first = f"{definitions[0]['file']}:{definitions[0]['line']}"
    if len(definitions) == 1:
        return first
    for definition in definitions:
        request = {
            "op": "probe_definition",
            "modules": bundle.modules,
            "data": bundle.data,
            "definitions": definitions,
            "keep": definition,
            "rule": rule["path"],
            "input": text,
        }
        try:
            session.ask(request, f"probing a definition of {rule['path']}")
        except ReviewTimeout:
            raise
        except PolicyTimeout:
            return f"{definition['file']}:{definition['line']}"
    return first
