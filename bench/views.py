"""Views benchmark: how fast each read model catches up, beside reading the same store raw.

On a synthetic year of a firm's OKRs (``bench/evidence.py``'s ``YearWriter``: real events
of the domain aggregates, a decision for every command, saved through the application) of
each size, on SQLite in a temporary directory, it measures single-threaded, in one run and
in alternating rounds (the fastest of each kept, so that a busy machine slows both alike):

1. the raw notification read: ``select_notifications`` in pages of the followers' batch
   size, each decoded with ``mapper.to_domain_event`` (``bench/common.py`` ``read_raw``);
2. each view's catch-up from empty (view reset, then its follower's ``catch_up()``): the
   OKR state, governance and the audit trail;
3. every view at once, as a running process follows the store (the shared follower: one
   read and decode per batch, one transaction for all the views), in store events per
   second.

It prints each rate and its ratio to the raw read, and records the ratios for ``make
bench`` (targets: OKR state and governance 0.5, audit trail 0.3).

Run ``python bench/views.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import read_raw
from evidence import YearWriter, people_for
from summary import record

from infra.config import Settings
from projections.runner import AUDIT, GOVERNANCE, OKR_STATE
from projections.shared import FedView
from services.bootstrap import Platform, build

TARGETS = {OKR_STATE: 0.5, GOVERNANCE: 0.5, AUDIT: 0.3}
ALL = "all views (shared follower)"


def _rate(prepare: Callable[[], None], run: Callable[[], int]) -> tuple[int, float]:
    prepare()
    started = time.perf_counter()
    count = run()
    return count, count / (time.perf_counter() - started)


def measure(platform: Platform, rounds: int) -> tuple[int, float, dict[str, float]]:
    """The raw read's rate and each view's catch-up rate (events per second), the fastest
    of ``rounds`` alternating rounds."""
    members = {name: platform.followers[name] for name in TARGETS}
    shared = members[OKR_STATE]
    assert isinstance(shared, FedView)
    batch_size = shared.shared.batch_size
    events = platform.ledger.recorder.max_notification_id() or 0

    def reset_all() -> None:
        for member in members.values():
            member.view.reset()

    def all_views() -> int:
        shared.shared.catch_up()
        return events

    raw = 0.0
    rates = dict.fromkeys([*TARGETS, ALL], 0.0)
    for _ in range(rounds):
        count, rate = _rate(lambda: None, lambda: read_raw(platform, batch_size))
        if count != events:
            raise RuntimeError(f"read {count} notifications of {events}")
        raw = max(raw, rate)
        for name, member in members.items():
            count, rate = _rate(member.view.reset, member.catch_up)
            if count != events:
                raise RuntimeError(f"the {name} view applied {count} events of {events}")
            rates[name] = max(rates[name], rate)
        rates[ALL] = max(rates[ALL], _rate(reset_all, all_views)[1])
    return events, raw, rates


def run_size(size: int, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="okrgov-views-") as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=None,
            secret_key="bench-only-not-a-secret",
            log_level=args.log_level,
            checkpoint_every=1000,
            policy_engine="embedded",
        )
        platform = build(settings)
        try:
            YearWriter(platform, people_for(size), args.seed, args.year, 1000).write()
            if args.batch_size:
                platform.projections.resize(args.batch_size)
            batch_size = platform.followers[OKR_STATE].batch_size
            events, raw, rates = measure(platform, args.rounds)
        finally:
            platform.close()
    work = f"{events:,} events (synthetic year), SQLite, pages of {batch_size}"
    baseline = "raw notification read + decode, same pages, same run"
    print(f"\n{work}")
    print(f"  {'raw notification read + decode':<40} {raw:>10,.0f} events/s")
    for name, rate in rates.items():
        print(f"  {name + ' catch-up':<40} {rate:>10,.0f} events/s  {rate / raw:6.3f}x")
        if name in TARGETS:
            record(
                "views",
                f"{name} catch-up / raw read, {_short(events)} events",
                rate / raw,
                baseline=baseline,
                work=work,
                target=TARGETS[name],
            )


def _short(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1e3:.0f}k"


def _size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--sizes", default="20k", help="comma-separated approximate event counts (100k,1M)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (best kept)")
    parser.add_argument(
        "--batch-size", type=int, default=0, help="events per batch (default: the followers')"
    )
    parser.add_argument("--seed", type=int, default=2027, help="random seed of the firm")
    parser.add_argument("--year", type=int, default=2027, help="the synthetic year")
    parser.add_argument("--log-level", default="WARNING", help="okrgov log level")
    args = parser.parse_args(argv)
    for size in sorted({_size(s) for s in args.sizes.split(",") if s.strip()}):
        run_size(size, args)


if __name__ == "__main__":
    main()
