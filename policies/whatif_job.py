"""The what-if, computed inside a worker process (``policies.worker``): a proposed version
beside the active one, on the same inputs.

A job (JSON) holds both bundles (``modules``, ``data``, ``tests``), the input documents to
judge under both (``documents``: ``{"id", "input"}``, canonical JSON text), recorded
denied attempts to judge again under the proposal (``replays``: the same shape) and the
decision budget in seconds (``budget``). The answer says, per document, which rules deny
and warn under each version; per replay, which rules deny under the proposal; the
proposal's own tests; the active version's tests under both versions; and every
evaluation of the proposal that took longer than the decision budget (as a decision, it
would have been refused with ``policy_timeout``). Errors of one evaluation are reported
with it; the parent bounds the whole job's time.

``replay_decisions`` is the what-if's other job, sent once per page of recorded decisions
(``decisions``: ``{"id", "meta", "input", "outcome", "deny", "warn"}``, the input as a
JSON object): each judged under the proposal in full (``policies.replay``, the comparison
``okrgov decisions replay`` makes) and compared with the recorded answer; the answer counts
them and lists the first ``limit`` that differ.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

import regorus

from policies.bundle import canonical_json
from policies.engine import (
    DENY_RULE,
    WARN_RULE,
    PolicyCompileError,
    PolicyEvaluationError,
    Verdict,
    defines,
    new_engine,
    prepare,
)
from policies.replay import Answer, judge
from policies.testing import run_test, test_cases

_UNDEFINED = '"<undefined>"'


class _Version:
    """A bundle's prepared engine, and whether it defines warn rules."""

    def __init__(self, bundle: dict[str, Any]) -> None:
        self.engine = new_engine(bundle["modules"], bundle["data"])
        prepare(self.engine)
        self.has_warn = defines(self.engine, WARN_RULE)

    def judge(self, text: str) -> dict[str, Any]:
        """``{"deny": [rule ids], "warn": [rule ids]}`` or ``{"error": text}``."""
        engine = self.engine.clone()
        try:
            engine.set_input_json(text)
            deny = engine.eval_rule_as_json(DENY_RULE)
            warn = engine.eval_rule_as_json(WARN_RULE) if self.has_warn else _UNDEFINED
        except RuntimeError as exc:
            return {"error": str(exc).split("Stack backtrace:", 1)[0].strip()}
        return {"deny": _rule_ids(deny), "warn": _rule_ids(warn)}

    def verdict(self, input: dict[str, Any]) -> Verdict:
        """The full verdict on one input (``PolicyEvaluationError`` when a rule fails)."""
        engine = self.engine.clone()
        try:
            engine.set_input_json(canonical_json(input))
            deny = engine.eval_rule_as_json(DENY_RULE)
            warn = engine.eval_rule_as_json(WARN_RULE) if self.has_warn else _UNDEFINED
        except RuntimeError as exc:
            raise PolicyEvaluationError(str(exc).split("Stack backtrace:", 1)[0].strip()) from None
        return Verdict.of(_value(deny), _value(warn))


def run(job: dict[str, Any]) -> dict[str, Any]:
    """The what-if's findings (see the module docstring)."""
    budget = float(job["budget"])
    active, proposed = _Version(job["active"]), _Version(job["proposed"])
    slow: list[dict[str, Any]] = []

    def timed(kind: str, ident: str, text: str) -> dict[str, Any]:
        started = time.perf_counter()
        verdict = proposed.judge(text)
        took = time.perf_counter() - started
        if took > budget:
            slow.append({"kind": kind, "id": ident, "seconds": round(took, 3)})
        return verdict

    documents = [
        {
            "id": d["id"],
            "active": active.judge(d["input"]),
            "proposed": timed("key_result", d["id"], d["input"]),
        }
        for d in job["documents"]
    ]
    replays = [
        {"id": r["id"], "proposed": timed("decision", r["id"], r["input"])} for r in job["replays"]
    ]
    return {
        "documents": documents,
        "replays": replays,
        "proposal_tests": _tests(job["proposed"], job["proposed"]["tests"]),
        "active_tests": {
            "under_active": _tests(job["active"], job["active"]["tests"]),
            "under_proposal": _tests(job["proposed"], job["active"]["tests"]),
        },
        "over_budget": slow,
    }


def replay_decisions(job: dict[str, Any]) -> dict[str, Any]:
    """One page of recorded decisions judged under the proposal (see the module docstring)."""
    budget, limit = float(job["budget"]), int(job["limit"])
    proposed = _Version(job["proposed"])
    unchanged, differing = 0, 0
    items: list[dict[str, Any]] = []
    slow: list[dict[str, Any]] = []
    for decision in job["decisions"]:
        recorded = Answer.recorded(decision["outcome"], decision["deny"], decision["warn"])
        started = time.perf_counter()
        difference = judge(recorded, decision["input"], proposed.verdict)
        took = time.perf_counter() - started
        if took > budget:
            slow.append({"kind": "decision", "id": decision["id"], "seconds": round(took, 3)})
        if difference is None:
            unchanged += 1
            continue
        differing += 1
        if len(items) < limit:
            items.append(
                {
                    **decision["meta"],
                    "recorded": recorded.as_json(),
                    "proposed": difference.now.as_json(),
                    **difference.as_json("proposed"),
                }
            )
    return {"unchanged": unchanged, "differing": differing, "items": items, "over_budget": slow}


def _tests(bundle: dict[str, Any], tests: dict[str, str]) -> dict[str, Any]:
    """The results of these test modules run against the bundle's modules and data, or the
    error that kept them from loading."""
    if not tests:
        return {"results": []}
    try:
        engine: regorus.Engine = new_engine({**bundle["modules"], **tests}, bundle["data"])
        prepare(engine)
    except PolicyCompileError as exc:
        return {"results": [], "error": str(exc)}
    cases = test_cases(json.loads(engine.get_ast_as_json()), set(tests))
    return {"results": [asdict(run_test(engine, case)) for case in cases]}


def _value(text: str) -> Any:
    return None if text == _UNDEFINED else json.loads(text)


def _rule_ids(text: str) -> list[str]:
    if text == _UNDEFINED:
        return []
    value = json.loads(text)
    if not isinstance(value, list):
        return []
    return sorted(
        {
            item["rule"]
            for item in value
            if isinstance(item, dict) and isinstance(item.get("rule"), str)
        }
    )
