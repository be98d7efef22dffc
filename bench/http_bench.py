"""HTTP benchmark: check-ins through a real ``okrgov serve``, beside the raw append of the
same events, measured in one run.

Per backend (SQLite in a temporary directory; PostgreSQL in a fresh schema), untimed: one
locked cycle with K key results owned by one member (``common.seed``) and a token for
them. Then, timed:

1. **raw append**: bare eventsourcing (``common.run_bare``) recording each check-in's
   events (the check-in and its guardrail decision, one ``save()``) in the same kind of
   store, single-threaded and with C threads, before and after the HTTP runs; the fastest
   of the four is the baseline;
2. **HTTP check-ins**: ``okrgov serve`` started as its own process (``--workers W`` for each
   W of ``--workers``), C client processes each sending ``POST /v1/key-results/{id}/
   check-ins`` over one keep-alive connection (``http.client``), N check-ins in all,
   round-robin over the key results. Each answer must show the check-in just sent (the
   write's answer is read from the OKR state after the write: read-your-writes), and
   each client's last check-in is read back with a GET at the end.

It prints the rates, the answer times (p50, p99) and the ratios (HTTP over raw; W
processes over one), and records them for ``make bench``'s summary (``summary.record``).
The clients run on the same machine and take CPU from the server: the ratio is what one
machine does, clients included. Nothing is asserted about the times.

Run as ``python bench/http.py`` (which runs this module), ``--help`` for the options;
bench/README.md gives the full-size figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from common import (
    OWNER,
    BareApp,
    decision_template,
    fresh_schema,
    new_gauges,
    run_bare,
    seed,
    workload,
)
from summary import record

from infra.config import Settings
from infra.persistence import eventsourcing_env
from services.bootstrap import build

DEFAULT_POSTGRES_URL = "postgresql://postgres:postgres@127.0.0.1:5432/test"
POSTGRES_URL_ENV = "OKRGOV_BENCH_DATABASE_URL"
SECRET = "bench-only-not-a-secret-bench-only"
START_SECONDS = 60


@dataclass
class Store:
    """Where one backend's run keeps its events: the server's settings as environment."""

    backend: str
    data_dir: Path
    env: dict[str, str]

    def settings(self) -> Settings:
        return Settings(
            secret_key=SECRET,
            log_level="WARNING",
            data_dir=self.data_dir,
            database_url=self.env.get("OKRGOV_DATABASE_URL"),
            database_schema=self.env.get("OKRGOV_DATABASE_SCHEMA"),
        )


@dataclass
class Setup:
    key_results: list[str]
    token: str
    decision: dict[str, Any]


def prepare(store: Store, key_results: int) -> Setup:
    """The seeded cycle, a token for its key results' owner, and a check-in decision of
    okrgov's for the raw append to copy."""
    platform = build(store.settings())
    try:
        ids = seed(platform, key_results)
        platform.ledger.check_in(OWNER, ids[0], 1.0, 0.5, "first")
        token = platform.tokens.create(OWNER.user, ["member"])
        return Setup([str(i) for i in ids], token, decision_template(platform))
    finally:
        platform.close()


# ---- the raw append -------------------------------------------------------------------


@dataclass
class Raw:
    single: float
    threaded: float

    @property
    def best(self) -> float:
        return max(self.single, self.threaded)


def raw_append(store: Store, setup: Setup, count: int, threads: int, gauges: int) -> Raw:
    """Check-ins per second appended by bare eventsourcing, one thread and ``threads``."""
    env = eventsourcing_env(store.settings())
    if store.backend == "sqlite":
        env = {**env, "SQLITE_DBNAME": str(store.data_dir / "bare.sqlite")}
    app = BareApp(env=env)
    try:
        ids = new_gauges(app, gauges * threads)
        run_bare(app, ids, setup.decision, workload(50, gauges))  # warm-up
        started = time.perf_counter()
        run_bare(app, ids, setup.decision, workload(count, gauges))
        single = count / (time.perf_counter() - started)

        def one(k: int) -> None:
            mine = ids[k * gauges : (k + 1) * gauges]
            run_bare(app, mine, setup.decision, workload(count // threads, gauges))

        workers = [threading.Thread(target=one, args=(k,)) for k in range(threads)]
        started = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        threaded = (count // threads) * threads / (time.perf_counter() - started)
        return Raw(single, threaded)
    finally:
        app.close()


# ---- the server -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(store: Store, workers: int, log: Path) -> Iterator[tuple[int, int]]:
    """``okrgov serve`` with ``workers`` processes; yields its port and process id once it
    answers. ``BENCH_PREFIX`` goes before the command (``taskset -c 1``, a profiler),
    ``BENCH_SERVE_ARGS`` after it (``--cpus 0,1``)."""
    port = free_port()
    okrgov = Path(sys.executable).with_name("okrgov")
    command = [
        *os.environ.get("BENCH_PREFIX", "").split(),
        str(okrgov),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if workers > 1:
        command += ["--workers", str(workers)]
    command += os.environ.get("BENCH_SERVE_ARGS", "").split()
    env = {**os.environ, **store.env, "OKRGOV_SECRET_KEY": SECRET, "OKRGOV_LOG_LEVEL": "WARNING"}
    with open(log, "ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {log}")
            time.sleep(0.1)
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


# ---- the clients ----------------------------------------------------------------------


def client(
    port: int,
    token: str,
    key_results: list[str],
    count: int,
    warm_up: int,
    name: int,
    start: Any,
    answers: Any,
) -> None:
    """One client process: ``warm_up`` untimed check-ins, then ``count`` timed ones, each
    answer checked to show the check-in it sent; its last one read back at the end."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def check_in(i: int) -> float:
        kr = key_results[i % len(key_results)]
        note = f"client {name} check-in {i}"
        body = json.dumps({"value": float(i % 100), "confidence": 0.7, "note": note})
        started = time.perf_counter()
        conn.request("POST", f"/v1/key-results/{kr}/check-ins", body, headers)
        response = conn.getresponse()
        text = response.read()
        taken = time.perf_counter() - started
        if response.status != 201:
            raise RuntimeError(f"check-in answered {response.status}: {text[:300]!r}")
        latest = json.loads(text)["latest_check_in"]
        if latest is None or latest["note"] != note:
            raise RuntimeError(f"the answer does not show the check-in just written: {latest}")
        return taken

    for i in range(warm_up):
        check_in(-1 - i)
    start.wait()
    times = [check_in(i) for i in range(count)]
    last = key_results[(count - 1) % len(key_results)]
    conn.request("GET", f"/v1/key-results/{last}", headers=headers)
    read = conn.getresponse()
    shown = json.loads(read.read())["latest_check_in"]
    if (
        read.status != 200
        or shown is None
        or shown["note"] != f"client {name} check-in {count - 1}"
    ):
        raise RuntimeError(f"read after write does not show the last check-in: {shown}")
    answers.put(times)


@dataclass
class Served:
    workers: int
    count: int
    seconds: float
    times: list[float]
    cpu: float
    """CPU seconds the server's processes used meanwhile."""

    @property
    def cpu_ms(self) -> float:
        """Server CPU per check-in, in ms: steadier than rates on a busy machine."""
        return self.cpu / self.count * 1000

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def quantile(self, q: int) -> float:
        return statistics.quantiles(self.times, n=100)[q - 1] * 1000


def over_http(
    store: Store, setup: Setup, workers: int, clients: int, count: int, warm_up: int, log: Path
) -> Served:
    """``count`` check-ins over HTTP by ``clients`` processes, each on its own key results."""
    ctx = mp.get_context("fork")
    per_client = count // clients
    share = max(1, len(setup.key_results) // clients)
    with server(store, workers, log) as (port, pid):
        start, answers = ctx.Barrier(clients + 1), ctx.Queue()
        processes = [
            ctx.Process(
                target=client,
                args=(
                    port,
                    setup.token,
                    setup.key_results[k * share : (k + 1) * share],
                    per_client,
                    warm_up,
                    k,
                    start,
                    answers,
                ),
            )
            for k in range(clients)
        ]
        for p in processes:
            p.start()
        start.wait(START_SECONDS * 2)
        started, cpu = time.perf_counter(), tree_cpu(pid)
        times: list[float] = []
        for _ in processes:
            times.extend(answers.get(timeout=600))
        seconds, cpu = time.perf_counter() - started, tree_cpu(pid) - cpu
        for p in processes:
            p.join()
            if p.exitcode != 0:
                raise RuntimeError(f"a client failed (exit {p.exitcode})")
    return Served(workers, per_client * clients, seconds, times, cpu)


def tree_cpu(pid: int) -> float:
    """CPU seconds (user and system) used so far by process ``pid`` and its descendants
    (the server's processes and their policy workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    tree, total = {pid}, 0.0
    grew = True
    while grew:
        grew = False
        for child, (parent, _) in stats.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    for member in tree:
        total += stats.get(member, (0, 0.0))[1]
    return total


# ---- backends -------------------------------------------------------------------------


@contextmanager
def sqlite_store() -> Iterator[Store]:
    with tempfile.TemporaryDirectory(prefix="okrgov-bench-") as tmp:
        yield Store("sqlite", Path(tmp), {"OKRGOV_DATA_DIR": tmp})


@contextmanager
def postgres_store(url: str) -> Iterator[Store]:
    with fresh_schema(url) as schema, tempfile.TemporaryDirectory(prefix="okrgov-bench-") as tmp:
        env = {"OKRGOV_DATA_DIR": tmp, "OKRGOV_DATABASE_URL": url, "OKRGOV_DATABASE_SCHEMA": schema}
        yield Store("postgres", Path(tmp), env)


TARGETS = {"sqlite": 0.25, "postgres": 0.3}
P99_TARGET_MS = 25.0
SCALING_TARGET = 1.6


def run_backend(store: Store, args: argparse.Namespace, log: Path) -> None:
    setup = prepare(store, args.key_results)
    gauges = max(1, args.key_results // args.clients)
    before = raw_append(store, setup, args.raw, args.clients, gauges)
    served = {
        w: over_http(store, setup, w, args.clients, args.checkins, args.warm_up, log)
        for w in args.workers
    }
    after = raw_append(store, setup, args.raw, args.clients, gauges)
    # The faster of the two, timed before and after the HTTP runs: a commit's fsync moves
    # with whatever else uses the disk, and the harder baseline is the honest one.
    raw = Raw(max(before.single, after.single), max(before.threaded, after.threaded))
    work = (
        f"{args.checkins:,} check-ins, {args.clients} clients, "
        f"{args.key_results} key results, {store.backend}"
    )
    print(
        f"{store.backend}: raw append (check-in + decision, one save), best of before and "
        f"after: {raw.single:,.0f}/s one thread, {raw.threaded:,.0f}/s {args.clients} threads"
    )
    baseline = f"raw append of the same events, {raw.best:,.0f}/s"
    for workers, s in served.items():
        ratio = s.rate / raw.best
        print(
            f"{store.backend}: HTTP, {workers} server process(es): {s.rate:,.0f} check-ins/s, "
            f"p50 {s.quantile(50):.1f} ms, p99 {s.quantile(99):.1f} ms, "
            f"server CPU {s.cpu_ms:.2f} ms per check-in; "
            f"{ratio:.3f}x the raw append ({raw.best:,.0f}/s)"
        )
        record(
            "http",
            f"HTTP check-ins / raw append ({store.backend}, {workers} proc)",
            ratio,
            baseline=baseline,
            work=work,
            target=TARGETS[store.backend] if workers == 1 else None,
        )
        record(
            "http",
            f"HTTP check-in p99 ms ({store.backend}, {workers} proc)",
            s.quantile(99),
            baseline=f"p50 {s.quantile(50):.1f} ms",
            work=work,
            target=P99_TARGET_MS if store.backend == "sqlite" and workers == 1 else None,
            higher_is_better=False,
        )
    if 1 in served:
        for workers, s in served.items():
            if workers == 1:
                continue
            scaling = s.rate / served[1].rate
            print(f"{store.backend}: {workers} server processes / one: {scaling:.2f}x")
            record(
                "http",
                f"HTTP {workers} processes / one ({store.backend})",
                scaling,
                baseline=f"one process, {served[1].rate:,.0f}/s",
                work=work,
                target=SCALING_TARGET if workers == 2 and store.backend == "postgres" else None,
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--checkins", type=int, default=600, help="timed HTTP check-ins (N)")
    parser.add_argument("--clients", type=int, default=4, help="client processes (C)")
    parser.add_argument("--key-results", type=int, default=20, help="key results (K)")
    parser.add_argument("--warm-up", type=int, default=20, help="untimed check-ins per client")
    parser.add_argument("--raw", type=int, default=1000, help="raw appends timed per variant")
    parser.add_argument(
        "--workers", default="1,2", help="server processes to measure, comma-separated"
    )
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL),
        help=f"libpq URL (default ${POSTGRES_URL_ENV}, else {DEFAULT_POSTGRES_URL})",
    )
    args = parser.parse_args(argv)
    args.workers = [int(w) for w in args.workers.split(",")]
    if args.clients < 1 or args.checkins < args.clients or min(args.workers) < 1:
        parser.error("--clients and --workers must be >= 1, --checkins >= --clients")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"okrgov HTTP benchmark: {args.checkins:,} check-ins by {args.clients} client "
        f"processes (keep-alive) over {args.key_results} key results, after {args.warm_up} "
        f"untimed each; server processes {args.workers}; {os.cpu_count()} cores"
    )
    status = 0
    with tempfile.TemporaryDirectory(prefix="okrgov-bench-log-") as logs:
        log = Path(logs, "server.log")
        for backend in args.backends.split(","):
            try:
                if backend == "sqlite":
                    with sqlite_store() as store:
                        run_backend(store, args, log)
                else:
                    with postgres_store(args.postgres_url) as store:
                        run_backend(store, args, log)
            except psycopg.OperationalError as exc:
                print(f"{backend}: SKIPPED ({str(exc).strip().splitlines()[0]})")
                status = 1
            except RuntimeError:
                sys.stdout.write(log.read_text()[-3000:] if log.exists() else "")
                raise
            sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
