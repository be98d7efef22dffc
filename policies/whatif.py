"""The what-if, off the request path: one review in a review worker (``policies.review``),
bounded by the review budget. Past it the worker is killed and ``ReviewTimeout`` names
the budget. ``policies.whatif_job`` computes it; this side sends the job and returns the
findings: first the cycle, the tests and the denied attempts (one step), then, when asked,
the recorded decisions of a period, a page per step so neither side holds them all.

Every step is judged under the engine that decides commands (``PolicyReviews.engine``):
regorus, or OPA's own Go evaluator in the worker (never the OPA server, which must not
load a version that is not active). When that evaluator cannot be loaded there,
``OpaUnavailable`` says so; the what-if is not answered by another engine instead."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from policies.bundle import PolicyBundle
from policies.opa_golib import OpaUnavailable
from policies.review import PolicyReviews, ReviewSession
from policies.sandbox import expect

#: Recorded decisions sent to the review worker per step.
DECISIONS_PER_STEP = 200


@dataclass(frozen=True)
class WhatIf:
    """The two versions and what to judge under them: ``documents`` and ``replays`` are
    ``{"id", "input"}`` with the input as canonical JSON text."""

    active: PolicyBundle
    proposed: PolicyBundle
    documents: list[dict[str, str]] = field(default_factory=list)
    replays: list[dict[str, str]] = field(default_factory=list)
    decisions: Iterable[dict[str, Any]] | None = None
    """Recorded decisions to judge under the proposal (``policies.whatif_job``'s
    ``replay_decisions`` items), read as the review sends them; None: none asked for."""
    limit: int = 20
    """At most this many differing decisions are listed (all are counted)."""


def run_whatif(reviews: PolicyReviews, job: WhatIf) -> dict[str, Any]:
    """The findings of ``policies.whatif_job.run`` for this job, under ``reviews.engine``
    (named in the findings' ``engine``)."""
    request = {
        "op": "whatif",
        "engine": reviews.engine,
        "active": _bundle(job.active),
        "proposed": _bundle(job.proposed),
        "documents": job.documents,
        "replays": job.replays,
        "budget": reviews.budgets.decision,
    }
    with reviews.review("the what-if") as session:
        answer = session.ask(request, "the what-if", session.remaining)
        found: dict[str, Any] = _available(expect(answer, "the what-if"), "the what-if")
        if job.decisions is not None:
            found["decisions"] = judge_recorded(
                session, job.proposed, job.decisions, reviews.engine, job.limit
            )
    return found


def judge_recorded(
    session: ReviewSession,
    bundle: PolicyBundle,
    decisions: Iterable[dict[str, Any]],
    engine: str,
    limit: int,
) -> dict[str, Any]:
    """Recorded decisions (``policies.whatif_job``'s ``replay_decisions`` items) judged
    under ``bundle`` by ``engine`` in the session's worker, a page per step: counts
    (``unchanged``, ``differing``), the first ``limit`` that differ with both answers
    (``items``), and evaluations past the decision budget (``over_budget``). The what-if
    judges a period's decisions under a proposal; ``GET /v1/decisions/{id}/replay`` one
    decision under the version that made it, once per engine."""
    total: dict[str, Any] = {"unchanged": 0, "differing": 0, "items": [], "over_budget": []}
    what = "the replay of recorded decisions"
    for page in _pages(decisions):
        request = {
            "op": "replay_decisions",
            "engine": engine,
            "proposed": _bundle(bundle),
            "decisions": page,
            "limit": limit - len(total["items"]),
            "budget": session.budgets.decision,
        }
        step = _available(expect(session.ask(request, what, session.remaining), what), what)
        for key in ("unchanged", "differing"):
            total[key] += step[key]
        for key in ("items", "over_budget"):
            total[key].extend(step[key])
    return total


def _available(found: dict[str, Any], what: str) -> dict[str, Any]:
    """The worker's findings, or ``OpaUnavailable`` when it could not load the engine."""
    if "unavailable" in found:
        raise OpaUnavailable(
            f"{what} judges under the policy engine ({found.get('engine')}), which the "
            f"review worker cannot load: {found['unavailable']}; it is not answered by "
            "another engine instead"
        )
    return found


def _pages(items: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(items)
    while page := list(islice(iterator, DECISIONS_PER_STEP)):
        yield page


def _bundle(bundle: PolicyBundle) -> dict[str, Any]:
    return {"modules": bundle.modules, "data": bundle.data, "tests": bundle.tests}
