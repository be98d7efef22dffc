"""Engine benchmark: the shipped guardrails under OPA's Go evaluator and under regorus.

In one run, on the same probe corpus (``policies.probe_corpus``: N inputs of every action,
Unicode titles, numbers around every threshold, 0 to 6 key results):

1. per decision: ``EmbeddedEngine.evaluate`` (regorus, the embedded engine) against
   ``OpaGoEngine.evaluate`` (OPA's Go evaluator in this process, one query for deny and
   warn), each over the whole corpus, best of R rounds; the ratio OPA / regorus;
2. the engine comparison a divergence check or ``okrgov decisions replay --engine both``
   makes: both engines on every input plus the comparison of whole verdicts, against the
   raw baseline of regorus alone on the same inputs;
3. agreement: how many of the N inputs get identical verdicts (deny and warn sets,
   messages included) from both engines.

Single-threaded, this process. ``python bench/engines.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from policies.bundle import load_shipped_bundle
from policies.embedded import EmbeddedEngine
from policies.opa_golib import OpaGoEngine
from policies.probe_corpus import probe_corpus


def best_of(rounds: int, work: Callable[[], Any]) -> float:
    """The fastest of ``rounds`` runs of ``work``, in seconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=2000, help="probe inputs (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, best kept (default 5)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    bundle = load_shipped_bundle()
    corpus = probe_corpus(bundle.data, args.inputs, args.seed)
    regorus, opa = EmbeddedEngine(bundle), OpaGoEngine(bundle)
    n = len(corpus)

    def on_regorus() -> None:
        for document in corpus:
            regorus.evaluate(document)

    def on_opa() -> None:
        for document in corpus:
            opa.evaluate(document)

    agreeing = 0

    def compared() -> None:
        nonlocal agreeing
        agreeing = sum(regorus.evaluate(d) == opa.evaluate(d) for d in corpus)

    on_regorus(), on_opa()  # warm both (thread engines, prepared queries)
    regorus_s = best_of(args.rounds, on_regorus)
    opa_s = best_of(args.rounds, on_opa)
    both_s = best_of(args.rounds, compared)
    opa.close()

    print(f"shipped bundle, {n} probe inputs (seed {args.seed}), best of {args.rounds} rounds")
    program = "compiled program" if regorus.compiled else "interpreter"
    print(f"  regorus (embedded)     {regorus_s / n * 1e6:8.1f} µs/decision  (baseline; {program})")
    print(
        f"  OPA Go evaluator       {opa_s / n * 1e6:8.1f} µs/decision  "
        f"{opa_s / regorus_s:5.2f}x regorus"
    )
    print(
        f"  both + comparison      {both_s / n * 1e6:8.1f} µs/input     "
        f"{both_s / regorus_s:5.2f}x regorus alone; {n} inputs in {both_s * 1000:.0f} ms"
    )
    print(f"  agreement              {agreeing} of {n} inputs identical ({n - agreeing} differ)")


if __name__ == "__main__":
    main()
