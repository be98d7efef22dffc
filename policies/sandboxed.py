"""The guardrails evaluated in a small pool of worker processes, each decision under the
decision budget: the server's ``PolicyEngine`` (``policies.sandbox`` says why processes).

Workers start lazily: none before the first decision, a second only when two decisions
run at once, at most ``size``. Each holds a prepared regorus engine for the bundle of the
current generation; ``load`` only records the new bundle (it was checked when it was
proposed), and each worker loads it before its next decision. A decision that runs past
the budget kills its worker and raises ``PolicyTimeout``; the pool starts a replacement
when one is next needed. Waiting for a free worker, starting one and loading the bundle
into it are bounded by the start budget.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import structlog

from policies.bundle import PolicyBundle, canonical_json
from policies.engine import (
    PolicyCompileError,
    PolicyEvaluationError,
    PolicyTimeout,
    Verdict,
    budget_text,
)
from policies.sandbox import Budgets, Worker, expect

log = structlog.get_logger(__name__)

_names = itertools.count(1)


class SandboxedEngine:
    """``PolicyEngine`` whose evaluations run in worker processes under a time budget."""

    def __init__(self, size: int = 2, budgets: Budgets | None = None) -> None:
        if size < 1:
            raise ValueError("a policy worker pool needs at least one worker")
        self.size = size
        self.budgets = budgets or Budgets()
        self._condition = threading.Condition()
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._count = 0  # workers started or being started
        self._closed = False
        # (generation, bundle, request that loads it)
        self._current: tuple[int, PolicyBundle, dict[str, Any]] | None = None
        # generation -> whether its compiled program agreed (the first worker's answer)
        self._agreed: dict[int, bool] = {}

    @property
    def bundle(self) -> PolicyBundle | None:
        current = self._current
        return current[1] if current else None

    @property
    def workers(self) -> int:
        """How many worker processes are running (or starting) now."""
        return self._count

    @property
    def busy(self) -> int:
        """How many workers are evaluating (or being readied) now."""
        return len(self._busy)

    def load(self, bundle: PolicyBundle) -> None:
        """Use this bundle for every decision from now on (workers load it lazily)."""
        request = {
            "op": "load",
            "slot": "active",
            "modules": bundle.modules,
            "data": bundle.data,
            "compiled": True,
        }
        with self._condition:
            generation = self._current[0] + 1 if self._current else 1
            self._current = (generation, bundle, request)

    def evaluate(self, input: dict[str, Any]) -> Verdict:
        """The verdict of the loaded guardrails on one input document."""
        return self.evaluate_text(canonical_json(input))

    def evaluate_text(self, text: str) -> Verdict:
        """The verdict on one input document given as its canonical JSON text."""
        current = self._current
        if current is None:
            raise PolicyEvaluationError("no policy bundle loaded")
        worker = self._checkout()
        try:
            has_warn = self._ready(worker, current)
            answer = worker.ask(
                {"op": "decide", "slot": "active", "warn": has_warn},
                self.budgets.decision,
                "evaluating the guardrails",
                text,
            )
        finally:
            self._checkin(worker)
        found = expect(answer, "evaluating the guardrails")
        return Verdict.of(found["deny"], found["warn"])

    def close(self) -> None:
        """Stop every worker: idle ones now; busy ones are killed, and their callers fail
        closed and clean up."""
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._busy)
            self._count -= len(idle)
            self._condition.notify_all()
        for worker in idle:
            worker.stop()
        for worker in busy:
            worker.kill()

    # -- the pool ----------------------------------------------------------------------

    def _checkout(self) -> Worker:
        """An idle worker, a new one if the pool is not full, or the first one returned
        within the start budget."""
        deadline = time.monotonic() + self.budgets.start
        with self._condition:
            while True:
                if self._closed:
                    raise PolicyEvaluationError("the policy workers have been stopped")
                if self._idle:
                    worker = self._idle.pop()
                    self._busy.add(worker)
                    return worker
                if self._count < self.size:
                    self._count += 1
                    worker = Worker(f"okrgov-policy-{next(_names)}")
                    self._busy.add(worker)
                    return worker
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    budget = self.budgets.start
                    raise PolicyTimeout(
                        f"no policy worker became free within the {budget_text(budget)} "
                        "start budget",
                        budget,
                    )
                self._condition.wait(remaining)

    def _checkin(self, worker: Worker) -> None:
        """Return a worker to the pool; one that was stopped (or a pool closed meanwhile)
        leaves it, and its place is free for a new one."""
        with self._condition:
            self._busy.discard(worker)
            keep = worker.alive and not self._closed
            if keep:
                self._idle.append(worker)
            else:
                self._count -= 1
            self._condition.notify()
        if not keep and worker.alive:
            worker.stop()

    def _ready(self, worker: Worker, current: tuple[int, PolicyBundle, dict[str, Any]]) -> bool:
        """Start the worker if it is new and load the current bundle into it if it holds
        another; whether the bundle defines warn rules."""
        generation, _, request = current
        if not worker.alive:
            worker.start(self.budgets.start)
        if worker.loaded is None or worker.loaded[0] != generation:
            # The first worker to load a bundle checks its compiled program; the others
            # are told its answer (``policies.compiled``).
            agreed = self._agreed.get(generation)
            if agreed is not None:
                request = {**request, "agreed": agreed}
            answer = worker.ask(request, self.budgets.start, "loading the active policy bundle")
            try:
                loaded = expect(answer, "loading the active policy bundle")
            except PolicyCompileError as exc:
                raise PolicyEvaluationError(
                    f"the active policy bundle does not load: {exc}"
                ) from None
            worker.loaded = (generation, bool(loaded["warn"]))
            if generation not in self._agreed:
                self._agreed[generation] = bool(loaded.get("compiled"))
                log.info("policy.workers.loaded", compiled_program=self._agreed[generation])
        return bool(worker.loaded[1])
