"""The divergence check of a proposed version, computed inside a review worker
(``policies.worker``): the probe corpus judged under regorus and under OPA's own Go
evaluator, and every input on which the two answers differ (a decision must not
depend on the engine that reached it).

A job (JSON) holds the version (``modules``, ``data``), the corpus (``size`` inputs drawn
by ``policies.probe_corpus`` from ``seed``, around the version's own data) and how many
differing inputs to list (``limit``). The answer is a divergence report
(``policies.divergence`` reads it): ``status`` ``checked`` with the number of ``inputs``
judged, how many are ``differing`` and the first ``limit`` of them (the input and each
engine's answer: outcome, deny and warn sets of ``{rule, message}``, error); or
``not_checked`` with the ``reason`` (OPA's Go evaluator is not installed here, or OPA's
compiler refuses a module regorus accepts). The answers compare as a replay compares a
recorded answer (``policies.replay.compare``): outcome, deny set, warn set; two errors are
the same answer whatever their texts.

The Go runtime is loaded here, inside the worker, never in the fork server or the
server: a worker forks nothing, so the runtime never meets a ``fork``. It is imported
only when a job runs (``policies.engines`` loads it lazily), so the fork server, which
preloads this module, stays free of it.
"""

from __future__ import annotations

from typing import Any

from policies.bundle import PolicyBundle
from policies.engine import PolicyCompileError, PolicyEngine, PolicyError
from policies.engines import ENGINE_NAMES, evaluator
from policies.opa_golib import OpaGoEngine, OpaUnavailable
from policies.probe_corpus import probe_corpus
from policies.replay import Answer, compare

CHECKED, NOT_CHECKED = "checked", "not_checked"
EMBEDDED, OPA = ENGINE_NAMES


def handle(_slots: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """The worker's ``divergence`` request (see ``policies.worker``)."""
    return {"ok": run(request)}


def run(job: dict[str, Any]) -> dict[str, Any]:
    """The divergence report of this job (see the module docstring)."""
    size, seed, limit = int(job["size"]), int(job["seed"]), int(job["limit"])
    bundle = PolicyBundle(modules=job["modules"], data=job["data"])
    corpus = {"size": size, "seed": seed}
    try:
        opa = evaluator(OPA, bundle)
    except OpaUnavailable as exc:
        return not_checked(str(exc), corpus)
    except PolicyCompileError as exc:
        return not_checked(f"OPA's compiler refuses the version: {exc}", corpus)
    try:
        embedded = evaluator(EMBEDDED, bundle)
        return _compare(embedded, opa, probe_corpus(bundle.data, size, seed), limit, corpus)
    finally:
        if isinstance(opa, OpaGoEngine):
            opa.close()


def not_checked(reason: str, corpus: dict[str, int]) -> dict[str, Any]:
    """A report saying the engines were not compared, and why."""
    return {
        "status": NOT_CHECKED,
        "reason": reason,
        "engines": list(ENGINE_NAMES),
        "corpus": corpus,
        "inputs": 0,
        "differing": 0,
        "items": [],
    }


def _compare(
    embedded: PolicyEngine,
    opa: PolicyEngine,
    inputs: list[dict[str, Any]],
    limit: int,
    corpus: dict[str, int],
) -> dict[str, Any]:
    differing = 0
    items: list[dict[str, Any]] = []
    for document in inputs:
        ours, theirs = _answer(embedded, document), _answer(opa, document)
        difference = compare(ours, theirs)
        if difference is None:
            continue
        differing += 1
        if len(items) < limit:
            items.append(
                {
                    "input": document,
                    EMBEDDED: ours.as_json(),
                    OPA: theirs.as_json(),
                    "differs_in": difference.aspects,
                }
            )
    return {
        "status": CHECKED,
        "reason": None,
        "engines": list(ENGINE_NAMES),
        "corpus": corpus,
        "inputs": len(inputs),
        "differing": differing,
        "items": items,
    }


def _answer(engine: PolicyEngine, document: dict[str, Any]) -> Answer:
    try:
        return Answer.of(engine.evaluate(document))
    except PolicyError as exc:
        return Answer.failed(str(exc))
