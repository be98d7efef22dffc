"""bench/http.py is named as the issue asks, which shadows the standard library's http
package for every script run from bench/: it must put that package in its place."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_a_script_run_from_bench_imports_the_standard_librarys_http() -> None:
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import http.client, jwt; "
        "print(http.client.HTTPConnection.__module__, http.HTTPStatus.OK.value)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(BENCH)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["http.client", "200"]
