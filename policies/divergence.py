"""Does a proposed version decide the same under regorus and under OPA?

A decision is evidence: it must not depend on the engine that reached it. So when a
version is proposed, after its checks pass, the probe corpus (``policies.probe_corpus``:
``CORPUS_SIZE`` inputs from ``CORPUS_SEED``, aimed at every field the rules read and
around the version's own thresholds) is judged under both engines in a review worker
(``policies.divergence_job``), bounded by the review budget like the other checks.

Divergence does not fail a proposal: the version is recorded with the report, and its
approver must acknowledge the divergence (``events.policy``). The report says
``checked`` with how many inputs differ and the first ``LISTED`` of them; or
``not_checked`` with the reason: OPA's Go evaluator is not installed, OPA's compiler
refuses the version, or the check ran past the review budget or its worker died. A check
that could not run is never a pass: an approver acknowledges it as one that diverges.

A report is a function of the modules, the data and the corpus (the engines are those
this release installs), so a completed one is kept per bundle digest in this process
(``_completed``, the last ``KEPT``): proposing the same rules again, or judging them on
approval of a second proposal of the same bundle, does not spend another two seconds.
A check that could not run is never kept.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Any

import structlog

from policies.bundle import PolicyBundle
from policies.divergence_job import CHECKED, not_checked
from policies.engine import PolicyError
from policies.review import PolicyReviews
from policies.sandbox import expect

#: How many probe inputs a proposal is judged on, and the seed that draws them (the same
#: inputs for the same data, so a report can be reproduced).
CORPUS_SIZE = 2000
CORPUS_SEED = 11
#: How many differing inputs a report lists (all are counted).
LISTED = 10
#: The status of the bundle okrgov ships (``shipped_report``).
SHIPPED = "shipped"

WHAT = "comparing the proposed version under regorus and OPA"
#: How many completed reports this process keeps (by bundle digest and corpus).
KEPT = 64

_completed: OrderedDict[tuple[str, int, int, int], dict[str, Any]] = OrderedDict()
_completed_lock = threading.Lock()

log = structlog.get_logger(__name__)


def check_divergence(
    reviews: PolicyReviews,
    bundle: PolicyBundle,
    size: int = CORPUS_SIZE,
    seed: int = CORPUS_SEED,
    limit: int = LISTED,
) -> dict[str, Any]:
    """The divergence report of this version (see the module docstring); never raises
    for a check that could not run: the report says why instead."""
    key = (bundle.digest(), size, seed, limit)
    with _completed_lock:
        kept = _completed.get(key)
    if kept is not None:
        return copy.deepcopy(kept)
    report = _judged(reviews, bundle, size, seed, limit)
    if report["status"] == CHECKED:
        with _completed_lock:
            _completed[key] = report
            while len(_completed) > KEPT:
                _completed.popitem(last=False)
        return copy.deepcopy(report)
    return report


def _judged(
    reviews: PolicyReviews, bundle: PolicyBundle, size: int, seed: int, limit: int
) -> dict[str, Any]:
    request = {
        "op": "divergence",
        "modules": bundle.modules,
        "data": bundle.data,
        "size": size,
        "seed": seed,
        "limit": limit,
    }
    corpus = {"size": size, "seed": seed}
    try:
        with reviews.review(WHAT) as session:
            report: dict[str, Any] = expect(session.ask(request, WHAT, session.remaining), WHAT)
    except PolicyError as exc:
        report = not_checked(f"the comparison could not finish: {exc}", corpus)
    log.info(
        "policy.divergence",
        status=report["status"],
        inputs=report["inputs"],
        differing=report["differing"],
        reason=report["reason"],
    )
    return report


def shipped_report() -> dict[str, Any]:
    """The report of the bundle okrgov ships, seeded as version 1 without a review worker
    (a fresh store must start fast): its release's tests compare it under both engines on
    the same corpus (tests/unit/policies/test_engine_equivalence.py), so it is recorded
    as ``shipped``, not as checked here."""
    return {
        **not_checked(
            "the bundle shipped with okrgov: its release's tests judge this corpus under both "
            "engines and require every answer to agree; it was not compared again at seeding",
            {"size": CORPUS_SIZE, "seed": CORPUS_SEED},
        ),
        "status": SHIPPED,
    }
