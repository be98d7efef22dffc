"""PostgreSQL writer processes: check-ins per second through ``Ledger.check_in`` from 1, 2,
4, 8 processes at once on one store, each process on key results of its own (no two
processes race for one aggregate), in one run. Part of bench/ledger.py (its PostgreSQL
backend runs it, ``--writers``); the ratio of W processes over one is what adding writer
processes buys."""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass
from typing import Any

from common import OWNER, seed
from summary import record

from infra.config import Settings
from services.bootstrap import build

START_SECONDS = 120


def writer(settings: Settings, key_results: list[Any], count: int, start: Any, done: Any) -> None:
    """One writer process: its own platform; ``count`` check-ins after the barrier. Eight
    processes starting their policy workers at once on two cores take longer than the
    default start budget, so the warm-up has a long one (the timed check-ins never start
    a worker)."""
    platform = build(settings.model_copy(update={"policy_start_budget_ms": 120_000}))
    try:
        check_in = platform.ledger.check_in
        for i in range(10):  # warm-up: policy worker started, caches filled
            check_in(OWNER, key_results[i % len(key_results)], float(i), 0.5, "warm-up")
        start.wait(START_SECONDS)
        for i in range(count):
            check_in(OWNER, key_results[i % len(key_results)], float(i), 0.6, f"w {i}")
        done.put(time.perf_counter())
    finally:
        platform.close()


@dataclass
class Writers:
    processes: int
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds


def run_writers(settings: Settings, processes: list[int], per_process: int) -> list[Writers]:
    """Each number of processes in turn, on one seeded store."""
    most = max(processes)
    platform = build(settings)
    try:
        ids = seed(platform, 5 * most)
    finally:
        platform.close()
    ctx = mp.get_context("spawn")
    results = []
    for n in processes:
        start, done = ctx.Barrier(n + 1), ctx.Queue()
        share = len(ids) // n
        started = [
            ctx.Process(
                target=writer,
                args=(settings, ids[k * share : (k + 1) * share], per_process, start, done),
            )
            for k in range(n)
        ]
        for p in started:
            p.start()
        start.wait(START_SECONDS)
        began = time.perf_counter()
        ended = max(done.get(timeout=600) for _ in started)
        for p in started:
            p.join()
            if p.exitcode != 0:
                raise RuntimeError(f"a writer process failed (exit {p.exitcode})")
        results.append(Writers(n, n * per_process, ended - began))
    return results


def report(results: list[Writers], per_process: int) -> None:
    one = next((r for r in results if r.processes == 1), None)
    for r in results:
        line = (
            f"postgres  {r.processes} writer process(es): {r.count:,} check-ins in "
            f"{r.seconds:.2f} s, {r.rate:,.0f}/s"
        )
        if one is not None and r is not one:
            scaling = r.rate / one.rate
            line += f"; {scaling:.2f}x one process"
            record(
                "ledger",
                f"PostgreSQL {r.processes} writer processes / one",
                scaling,
                baseline=f"one writer process, {one.rate:,.0f} check-ins/s",
                work=f"{per_process} check-ins per process, each on its own key results",
                target=3.0 if r.processes == 8 else None,
            )
        print(line)
