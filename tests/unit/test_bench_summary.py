"""`make bench` (bench/summary.py): every benchmark it runs exists and starts, and the
summary table says which targets a run met."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import summary  # noqa: E402


def test_a_ratio_is_recorded_only_when_a_summary_file_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv(summary.SUMMARY_FILE, raising=False)
    summary.record("x", "nothing named", 1.0, baseline="raw", work="1 event")
    path = tmp_path / "s.jsonl"
    monkeypatch.setenv(summary.SUMMARY_FILE, str(path))
    summary.record("ledger", "check_in / raw", 0.72, baseline="raw", work="5 events", target=0.7)
    summary.record(
        "policy", "p50 us", 52.0, baseline="-", work="n", target=40, higher_is_better=False
    )
    ratios = summary.read(path)
    assert [r.measure for r in ratios] == ["check_in / raw", "p50 us"]
    assert [summary.met(r) for r in ratios] == ["met", "NOT MET"]
    table = summary.table(ratios)
    assert ">=0.7" in table and "<=40" in table and "NOT MET" in table


@pytest.mark.parametrize("command", summary.SMALL, ids=lambda c: Path(c[0]).stem)
def test_every_benchmark_make_bench_runs_exists_and_starts(command):
    done = subprocess.run(
        [sys.executable, command[0], "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
