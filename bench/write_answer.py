"""Write-answer benchmark: what a write's answer waits for.

A write route answers once the views its answer reads have reached the write
(``services.api.deps.Command.settle``). A check-in's answer reads the OKR state only; until
issue 10 it waited for every view the process follows: the OKR state, governance, the
audit trail and the leaf log. This measures, in one run, on a SQLite store in a temporary
directory with the process's followers running in the background as they do under
``okrgov serve``:

* **okr_state only** (now): ``Ledger.check_in``, then ``Platform.wrote`` and
  ``Platform.wait_for(views=[okr_state])``, as ``settle`` does;
* **every view** (the baseline, the old rule): the same, waiting for every view.

N check-ins each, alternating in blocks so that both see the same machine. It prints the
time per answered write (median and 95th percentile) and the ratio of the two. Nothing
is asserted about the times."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Collection
from pathlib import Path
from uuid import UUID

from common import OWNER, seed

from infra.config import Settings
from projections.runner import OKR_STATE
from services.bootstrap import Platform, build

BLOCK = 50


def answer(platform: Platform, key_result: UUID, value: float, views: Collection[str]) -> float:
    """Seconds from the command to its answer being readable from ``views``."""
    started = time.perf_counter()
    recorded = platform.ledger.check_in(OWNER, key_result, value, 0.7, "bench")
    platform.wrote(OWNER.user, recorded.position)
    platform.wait_for(OWNER.user, recorded.position, views=views)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkins", type=int, default=1000, help="N per rule (default 1000)")
    parser.add_argument("--key-results", type=int, default=20, help="K (default 20)")
    parser.add_argument("--poll", type=float, default=0.05, help="follower poll seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="okrgov-bench-") as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'events.db'}",
            data_dir=Path(tmp),
            checkpoint_every=0,
            log_level="WARNING",
            projection_poll_seconds=args.poll,
        )
        platform = build(settings)
        try:
            key_results = seed(platform, args.key_results)
            platform.start()
            every = list(platform.followers)
            rules = {"okr_state only": [OKR_STATE], "every view": every}
            times: dict[str, list[float]] = {name: [] for name in rules}
            for i in range(10):  # warm-up, untimed
                answer(platform, key_results[i % len(key_results)], i, every)
            n = 0
            while n < args.checkins:
                for name, views in rules.items():
                    for j in range(BLOCK):
                        kr = key_results[(n + j) % len(key_results)]
                        times[name].append(answer(platform, kr, float(n + j), views))
                n += BLOCK
        finally:
            platform.close()
    print(f"write answers: {n} check-ins per rule over {args.key_results} key results, SQLite,")
    print(f"followers running ({', '.join(every)}), blocks of {BLOCK} alternating")
    for name, taken in times.items():
        q = statistics.quantiles(taken, n=20)
        print(
            f"  {name:15} median {statistics.median(taken) * 1000:7.2f} ms"
            f"   p95 {q[18] * 1000:7.2f} ms"
        )
    ratio = statistics.median(times["every view"]) / statistics.median(times["okr_state only"])
    print(f"  every view / okr_state only (median): {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
