"""The what-if, off the request path: one review in a review worker (``policies.review``),
bounded by the review budget. Past it the worker is killed and ``ReviewTimeout`` names
the budget. ``policies.whatif_job`` computes it; this side sends the job and returns the
findings: first the cycle, the tests and the denied attempts (one step), then, when asked,
the recorded decisions of a period, a page per step so neither side holds them all."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from policies.bundle import PolicyBundle
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
    """The findings of ``policies.whatif_job.run`` for this job."""
    request = {
        "op": "whatif",
        "active": _bundle(job.active),
        "proposed": _bundle(job.proposed),
        "documents": job.documents,
        "replays": job.replays,
        "budget": reviews.budgets.decision,
    }
    with reviews.review("the what-if") as session:
        answer = session.ask(request, "the what-if", session.remaining)
        found: dict[str, Any] = expect(answer, "the what-if")
        if job.decisions is not None:
            found["decisions"] = _decisions(session, job, job.decisions)
    return found


def _decisions(
    session: ReviewSession, job: WhatIf, decisions: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    """The recorded decisions judged under the proposal, a page per step: counts, the
    first ``job.limit`` that differ, and evaluations past the decision budget."""
    total: dict[str, Any] = {"unchanged": 0, "differing": 0, "items": [], "over_budget": []}
    for page in _pages(decisions):
        request = {
            "op": "replay_decisions",
            "proposed": _bundle(job.proposed),
            "decisions": page,
            "limit": job.limit - len(total["items"]),
            "budget": session.budgets.decision,
        }
        what = "the replay of recorded decisions"
        step = expect(session.ask(request, what, session.remaining), what)
        for key in ("unchanged", "differing"):
            total[key] += step[key]
        for key in ("items", "over_budget"):
            total[key].extend(step[key])
    return total


def _pages(items: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(items)
    while page := list(islice(iterator, DECISIONS_PER_STEP)):
        yield page


def _bundle(bundle: PolicyBundle) -> dict[str, Any]:
    return {"modules": bundle.modules, "data": bundle.data, "tests": bundle.tests}
