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

Both jobs judge under the engine the job names (``engine``, the one that decides
commands, as the composition root chose it): ``embedded`` is regorus, ``opa`` is OPA's own
Go evaluator (``policies.opa_golib``), loaded here in the worker: the same evaluator an OPA
server runs, so the what-if answers as the server would, without pushing a version that is
not active to the shared server. The versions' tests run under the same engine
(``policies.whatif_tests``). When OPA's evaluator cannot be loaded
here the answer is ``{"engine": "opa", "unavailable": <why>}``, never regorus's answer in
its place. The Go runtime is loaded only when an ``opa`` job runs, never in the fork
server that preloads this module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from policies.bundle import PolicyBundle, canonical_json
from policies.embedded import evaluate_prepared
from policies.engine import WARN_RULE, PolicyEvaluationError, Verdict, defines, new_engine, prepare
from policies.engines import ENGINE_NAMES
from policies.opa_golib import OpaGoEngine, OpaUnavailable
from policies.replay import Answer, judge
from policies.whatif_tests import version_tests

EMBEDDED, OPA = ENGINE_NAMES


class _Judge(Protocol):
    """A version loaded in one engine."""

    def judge(self, text: str) -> dict[str, Any]: ...

    def verdict(self, input: dict[str, Any]) -> Verdict: ...


class _Version:
    """A bundle's prepared regorus engine, and whether it defines warn rules."""

    def __init__(self, bundle: dict[str, Any]) -> None:
        self.engine = new_engine(bundle["modules"], bundle["data"])
        prepare(self.engine)
        self.has_warn = defines(self.engine, WARN_RULE)

    def judge(self, text: str) -> dict[str, Any]:
        """``{"deny": [rule ids], "warn": [rule ids]}`` or ``{"error": text}``."""
        try:
            deny, warn = evaluate_prepared(self.engine, text, self.has_warn)
        except PolicyEvaluationError as exc:
            return {"error": str(exc)}
        return {"deny": _rule_ids(deny), "warn": _rule_ids(warn)}

    def verdict(self, input: dict[str, Any]) -> Verdict:
        """The full verdict on one input (``PolicyEvaluationError`` when a rule fails)."""
        return Verdict.of(*evaluate_prepared(self.engine, canonical_json(input), self.has_warn))


class _OpaVersion:
    """A bundle loaded in OPA's Go evaluator in this process (``OpaUnavailable`` when it
    cannot be loaded, ``PolicyCompileError`` when OPA's compiler refuses a module)."""

    def __init__(self, bundle: dict[str, Any]) -> None:
        self.engine = OpaGoEngine(PolicyBundle(modules=bundle["modules"], data=bundle["data"]))

    def judge(self, text: str) -> dict[str, Any]:
        """``{"deny": [rule ids], "warn": [rule ids]}`` or ``{"error": text}``."""
        try:
            verdict = self.verdict(json.loads(text))
        except PolicyEvaluationError as exc:
            return {"error": str(exc)}
        return {
            "deny": sorted({v.rule for v in verdict.deny}),
            "warn": sorted({v.rule for v in verdict.warn}),
        }

    def verdict(self, input: dict[str, Any]) -> Verdict:
        return self.engine.evaluate(input)


class _Unavailable(Exception):
    """The job's engine cannot be loaded in this worker."""


@contextmanager
def _versions(engine: str, *bundles: dict[str, Any]) -> Iterator[Sequence[_Judge]]:
    """The bundles loaded in the job's engine; Go engines are closed afterwards (the
    worker serves further steps of the review)."""
    if engine not in ENGINE_NAMES:
        raise ValueError(f"unknown policy engine {engine!r}; expected one of {ENGINE_NAMES}")
    if engine == EMBEDDED:
        yield [_Version(bundle) for bundle in bundles]
        return
    loaded: list[_OpaVersion] = []
    try:
        for bundle in bundles:
            loaded.append(_OpaVersion(bundle))
        yield loaded
    except OpaUnavailable as exc:
        raise _Unavailable(str(exc)) from None
    finally:
        for version in loaded:
            version.engine.close()


def run(job: dict[str, Any]) -> dict[str, Any]:
    """The what-if's findings (see the module docstring)."""
    engine = str(job.get("engine", EMBEDDED))
    try:
        with _versions(engine, job["active"], job["proposed"]) as (active, proposed):
            return {"engine": engine, **_findings(job, active, proposed)}
    except _Unavailable as exc:
        return {"engine": engine, "unavailable": str(exc)}


def _findings(job: dict[str, Any], active: _Judge, proposed: _Judge) -> dict[str, Any]:
    budget, engine = float(job["budget"]), str(job.get("engine", EMBEDDED))
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
        "proposal_tests": version_tests(engine, job["proposed"], job["proposed"]["tests"]),
        "active_tests": {
            "under_active": version_tests(engine, job["active"], job["active"]["tests"]),
            "under_proposal": version_tests(engine, job["proposed"], job["active"]["tests"]),
        },
        "over_budget": slow,
    }


def replay_decisions(job: dict[str, Any]) -> dict[str, Any]:
    """One page of recorded decisions judged under the proposal (see the module docstring)."""
    engine = str(job.get("engine", EMBEDDED))
    try:
        with _versions(engine, job["proposed"]) as (proposed,):
            return {"engine": engine, **_replayed(job, proposed)}
    except _Unavailable as exc:
        return {"engine": engine, "unavailable": str(exc)}


def _replayed(job: dict[str, Any], proposed: _Judge) -> dict[str, Any]:
    budget, limit = float(job["budget"]), int(job["limit"])
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


def _rule_ids(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return sorted(
        {
            item["rule"]
            for item in value
            if isinstance(item, dict) and isinstance(item.get("rule"), str)
        }
    )
