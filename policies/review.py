"""Reviews of a policy version off the decision path: the checks of a proposal and the
what-if, each in worker processes of its own (never the decision pool's, so writes are
not starved while one runs), at most ``concurrency`` at a time, each bounded in total by
the review budget and every step by its own budget.

A review is a ``ReviewSession``: a fresh worker (a new one after a step kills it), the
deadline of the whole review, and ``ask`` to run one step. A step past its own budget
raises ``PolicyTimeout``; a step cut short by the review's deadline raises
``ReviewTimeout``. When every slot is taken for longer than the review budget, ``review``
raises ``ReviewsBusy``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from policies.engine import PolicyError, PolicyEvaluationError, PolicyTimeout, budget_text
from policies.engines import EngineName
from policies.sandbox import Budgets, Worker

_names = itertools.count(1)


class ReviewTimeout(PolicyTimeout):
    """A what-if or a proposal's checks did not finish within the review budget."""


class ReviewsBusy(PolicyError):
    """Every review slot stayed taken for the whole review budget."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ReviewSession:
    """One review's worker and deadline."""

    def __init__(self, budgets: Budgets, what: str) -> None:
        self.budgets = budgets
        self.what = what
        self.deadline = time.monotonic() + budgets.review
        self._worker: Worker | None = None
        self._lock = threading.Lock()

    @property
    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def ask(
        self, request: dict[str, Any], what: str, budget: float | None = None
    ) -> dict[str, Any]:
        """Run one step on this review's worker (started, or started again after a step
        killed it) within ``budget`` seconds (the decision budget by default) and the
        review's deadline."""
        step = self.budgets.decision if budget is None else budget
        worker = self._ready()
        remaining = self.remaining
        if remaining <= 0:
            raise self._timeout()
        try:
            return worker.ask(request, min(step, remaining), what)
        except PolicyTimeout:
            if step >= remaining:
                raise self._timeout() from None
            raise

    def close(self) -> None:
        """Stop this review's worker (from the review's own thread)."""
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()

    def kill(self) -> None:
        """Kill this review's worker from another thread: the review fails and cleans up."""
        with self._lock:
            worker = self._worker
        if worker is not None:
            worker.kill()

    def _ready(self) -> Worker:
        with self._lock:
            worker = self._worker
        if worker is not None and worker.alive:
            return worker
        worker = Worker(f"okrgov-review-{next(_names)}")
        with self._lock:
            self._worker = worker
        remaining = self.remaining
        if remaining <= 0:
            raise self._timeout()
        try:
            worker.start(min(self.budgets.start, remaining))
        except PolicyTimeout:
            if self.budgets.start >= remaining:
                raise self._timeout() from None
            raise
        return worker

    def _timeout(self) -> ReviewTimeout:
        self.close()
        budget = self.budgets.review
        return ReviewTimeout(
            f"{self.what} did not finish within its {budget_text(budget)} budget, "
            "so it was stopped",
            budget,
        )


class PolicyReviews:
    """Where proposals are checked and what-ifs computed. ``engine`` is the engine that
    decides commands (the composition root's choice): a what-if judges both versions under
    it, inside the review worker (``policies.whatif_job``)."""

    def __init__(
        self,
        budgets: Budgets | None = None,
        concurrency: int = 1,
        engine: EngineName = "embedded",
    ) -> None:
        if concurrency < 1:
            raise ValueError("at least one review must be allowed to run")
        self.budgets = budgets or Budgets()
        self.concurrency = concurrency
        self.engine: EngineName = engine
        self._slots = threading.BoundedSemaphore(concurrency)
        self._running: set[ReviewSession] = set()
        self._lock = threading.Lock()
        self._closed = False

    @property
    def running(self) -> int:
        """How many reviews are running now."""
        with self._lock:
            return len(self._running)

    @contextmanager
    def review(self, what: str) -> Iterator[ReviewSession]:
        """A session for one review; waits (at most the review budget) for a free slot."""
        if self._closed:
            raise PolicyEvaluationError("the policy reviews have been stopped")
        if not self._slots.acquire(timeout=self.budgets.review):
            raise ReviewsBusy(
                f"{self.concurrency} policy review(s) already running; {what} could not "
                f"start within {budget_text(self.budgets.review)}",
                self.budgets.review,
            )
        session = ReviewSession(self.budgets, what)
        with self._lock:
            self._running.add(session)
        try:
            yield session
        finally:
            session.close()
            with self._lock:
                self._running.discard(session)
            self._slots.release()

    def close(self) -> None:
        """Kill the workers of every running review (their callers get an error) and
        start no more."""
        with self._lock:
            self._closed = True
            running = list(self._running)
        for session in running:
            session.kill()
