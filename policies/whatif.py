"""The what-if, off the request path: one job in a review worker (``policies.review``),
bounded by the review budget. Past it the worker is killed and ``ReviewTimeout`` names
the budget. ``policies.whatif_job`` computes it; this side sends the job and returns the
findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.bundle import PolicyBundle
from policies.review import PolicyReviews
from policies.sandbox import expect


@dataclass(frozen=True)
class WhatIf:
    """The two versions and what to judge under them: ``documents`` and ``replays`` are
    ``{"id", "input"}`` with the input as canonical JSON text."""

    active: PolicyBundle
    proposed: PolicyBundle
    documents: list[dict[str, str]] = field(default_factory=list)
    replays: list[dict[str, str]] = field(default_factory=list)


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
    return found


def _bundle(bundle: PolicyBundle) -> dict[str, Any]:
    return {"modules": bundle.modules, "data": bundle.data, "tests": bundle.tests}
