"""The one summary of every benchmark: each script records its ratios here as it prints
them, and ``make bench`` (``python bench/summary.py``) runs every script at a small size
and prints one table of the ratios, each beside the issue's target.

A script records a ratio with ``record(...)``: when the environment names a summary file
(``OKRGOV_BENCH_SUMMARY``), one JSON line is appended to it; otherwise nothing happens, so a
script run by hand prints only its own report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

SUMMARY_FILE = "OKRGOV_BENCH_SUMMARY"


@dataclass(frozen=True)
class Ratio:
    """One measure beside its raw baseline, measured in the same run."""

    bench: str
    measure: str
    ratio: float
    """okrgov's rate over the baseline's (or the baseline's time over okrgov's)."""
    baseline: str
    """What the raw baseline is."""
    work: str
    """The size of the work measured."""
    target: float | None = None
    """The ratio the issue asks for (at least), if any."""
    higher_is_better: bool = True


def record(
    bench: str,
    measure: str,
    ratio: float,
    *,
    baseline: str,
    work: str,
    target: float | None = None,
    higher_is_better: bool = True,
) -> None:
    """Append one ratio to the summary file named by ``OKRGOV_BENCH_SUMMARY``, if any."""
    path = os.environ.get(SUMMARY_FILE)
    if not path:
        return
    line = Ratio(bench, measure, ratio, baseline, work, target, higher_is_better)
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(line)) + "\n")


def read(path: Path) -> list[Ratio]:
    if not path.exists():
        return []
    return [Ratio(**json.loads(line)) for line in path.read_text().splitlines() if line]


def met(r: Ratio) -> str:
    if r.target is None:
        return ""
    ok = r.ratio >= r.target if r.higher_is_better else r.ratio <= r.target
    return "met" if ok else "NOT MET"


def table(ratios: list[Ratio]) -> str:
    head = f"{'bench':<10} {'measure':<52} {'ratio':>8} {'target':>8}  {'':<7} work / baseline"
    lines = [head, "-" * len(head)]
    for r in ratios:
        sign = ">=" if r.higher_is_better else "<="
        target = f"{sign}{r.target:g}" if r.target is not None else ""
        lines.append(
            f"{r.bench:<10} {r.measure[:52]:<52} {r.ratio:>8.3f} {target:>8}  {met(r):<7} "
            f"{r.work}; baseline: {r.baseline}"
        )
    return "\n".join(lines)


#: Each benchmark at a small size: ``make bench`` shows every ratio in a few minutes;
#: bench/README.md gives the full-size figures and the commands that made them.
SMALL: tuple[tuple[str, ...], ...] = (
    ("bench/ledger.py", "--checkins", "1000", "--key-results", "20", "--warm-up", "100"),
    ("bench/policy.py",),
    ("bench/engines.py", "--inputs", "500", "--rounds", "3"),
    ("bench/write_answer.py",),
    ("bench/views.py",),
    ("bench/evidence.py",),
    ("bench/stream.py", "--seconds", "0"),
    ("bench/http.py", "--checkins", "400"),
    ("bench/console.py",),
    ("bench/identity.py", "--tokens", "1000", "--people", "500"),
)


def main(argv: list[str]) -> int:
    only = set(argv)
    failed = []
    with tempfile.TemporaryDirectory(prefix="okrgov-bench-") as tmp:
        path = Path(tmp, "summary.jsonl")
        env = {**os.environ, SUMMARY_FILE: str(path)}
        for command in SMALL:
            script = Path(command[0])
            if only and script.stem not in only:
                continue
            if not script.exists():
                continue
            print(f"\n=== {' '.join(command)}", flush=True)
            started = time.monotonic()
            done = subprocess.run([sys.executable, *command], env=env, check=False)
            print(f"=== {script.stem}: {time.monotonic() - started:.0f} s", flush=True)
            if done.returncode != 0:
                failed.append(script.stem)
        print("\nSummary: every ratio beside its raw baseline, measured in the same run\n")
        print(table(read(path)))
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
