"""regorus's objects are unsendable: created, used and dropped on one thread, or PyO3
reports ``... is unsendable, but is being dropped on another thread`` on stderr (and
leaks the object). The in-process paths that used to report it run here in a fresh
interpreter, whose stderr must not say it: an embedded engine evaluated on a pool's
threads and dropped on another while they live, loaded on one thread and used on others,
given a new bundle while threads hold the old one's engines, an evaluation error and a
compile error raised on a pool's thread and freed on another, the policy tests run on a
pool's thread. A control script drops an engine on another thread to show the report is
seen where it happens."""

from __future__ import annotations

import subprocess
import sys

WARNING = "unsendable"

PATHS = r'''
import gc
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import policies
from policies.bundle import PolicyBundle, load_shipped_bundle
from policies.embedded import EmbeddedEngine
from policies.engine import PolicyCompileError, PolicyEvaluationError, compile_bundle
from policies.engines import evaluator
from policies.testing import run_policy_tests

DIVIDES = """package okrgov.guardrails

deny contains {"rule": "ratio", "message": sprintf("ratio %v", [1 / input.n])} if input.n >= 0
"""
shipped = load_shipped_bundle()
relaxed = PolicyBundle(shipped.modules, {**shipped.data, "stale_check_in_days": 99})
doc = {"action": "key_result.check_in", "actor": {"id": "tom", "roles": ["member"]}}
pool = ThreadPoolExecutor(4)


def everywhere(engine, document):
    return list(pool.map(engine.evaluate, [document] * 16))


# Loaded here, evaluated on the pool's threads, dropped here while they live.
engine = EmbeddedEngine(shipped)
everywhere(engine, doc)
del engine
gc.collect()

# Loaded on a pool thread (as the replay loads a version), used here and there.
engine = pool.submit(evaluator, "embedded", shipped).result()
engine.evaluate(doc)
everywhere(engine, doc)
del engine
gc.collect()

# A new bundle while the pool's threads hold the old one's engines.
engine = EmbeddedEngine(shipped)
everywhere(engine, doc)
engine.load(relaxed)
everywhere(engine, doc)
del engine
gc.collect()

# An evaluation error raised on a pool thread, freed here.
engine = EmbeddedEngine(PolicyBundle({"guardrails.rego": DIVIDES}, {}))
try:
    pool.submit(engine.evaluate, {"n": 0}).result()
except PolicyEvaluationError as exc:
    error = exc
del error, engine
gc.collect()

# A bundle refused on a pool thread, the refusal freed here.
broken = PolicyBundle({"guardrails.rego": "package okrgov.guardrails\n\ndeny contains"}, {})
try:
    pool.submit(compile_bundle, broken).result()
except PolicyCompileError as exc:
    error = exc
del error
gc.collect()

# The policy tests, run on a pool thread; and tests that fail regorus's analysis there.
results = pool.submit(run_policy_tests, Path(policies.__file__).parent / "bundle").result()
assert results and all(r.passed for r in results), results
unsafe = Path(tempfile.mkdtemp())
(unsafe / "guardrails.rego").write_text(DIVIDES)
(unsafe / "guardrails_test.rego").write_text(
    "package okrgov.guardrails_test\n\ntest_unsafe if { x == y }\n"
)
try:
    pool.submit(run_policy_tests, unsafe).result()
except PolicyCompileError as exc:
    error = exc
del error
gc.collect()

# The pool's threads evaluate again (dropping, on themselves, what they held), then end.
engine = EmbeddedEngine(shipped)
everywhere(engine, doc)
pool.shutdown()
del engine
gc.collect()
print("done")
'''

CONTROL = r"""
import gc
import threading

import regorus

made = []
thread = threading.Thread(target=lambda: made.append(regorus.Engine()))
thread.start()
thread.join()
made.clear()
gc.collect()
print("done")
"""


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )


def test_the_in_process_engines_are_dropped_on_their_own_threads() -> None:
    ran = _run(PATHS)
    assert ran.returncode == 0, ran.stderr[-4000:]
    assert ran.stdout.strip().endswith("done")
    assert WARNING not in ran.stderr, ran.stderr[-4000:]


def test_an_engine_dropped_on_another_thread_is_reported_on_stderr() -> None:
    """The control: what the test above looks for is what PyO3 prints."""
    ran = _run(CONTROL)
    assert ran.stdout.strip().endswith("done")
    assert "regoruspy::Engine is unsendable, but is being dropped on another thread" in (ran.stderr)
