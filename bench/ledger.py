"""Ledger benchmark: what okrgov's layer costs on top of bare eventsourcing.

For each backend (SQLite in a temporary directory, PostgreSQL in a fresh schema) it measures,
single-threaded, in one run:

1. check-ins per second through ``Ledger.check_in`` (N check-ins round-robin over K key
   results), beside a bare ``eventsourcing.application.Application`` recording the same
   events with the same persistence environment: per check-in one ``get``, one ``@event``
   call with the same payload (value, confidence, note, actor, correlation_id, reason) and
   the guardrail decision that covers it (a ``Decision.Recorded`` event with the fields and
   input document okrgov recorded for a check-in), both in one ``save()``;
2. the OKR-state projection's catch-up rate over the store just built (view reset, then
   ``Follower.catch_up()``), beside reading the same notifications raw
   (``recorder.select_notifications`` in pages of the follower's batch size, decoded with
   ``mapper.to_domain_event``);
3. rebuilding every read model as ``okrgov projections rebuild`` does (aside, then switched
   in whole), beside the in-place rebuild it replaced (views emptied, then refilled);
4. PostgreSQL only: ``Ledger.check_in`` from 1 and from 8 writer processes at once, each on
   key results of its own (``--writers``, bench/writers.py), and the ratio of 8 over one.

Run ``python bench/ledger.py --help`` for the options; bench/README.md explains the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from common import (
    OWNER,
    BareApp,
    CheckIn,
    Rate,
    decision_template,
    fresh_schema,
    new_gauges,
    read_raw,
    redact,
    run_bare,
    seed,
    workload,
)
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import sql
from summary import record
from writers import Writers, run_writers
from writers import report as writers_report

from infra.config import Settings
from infra.persistence import eventsourcing_env
from projections.leaf_log import LEAF_LOG
from projections.okr_state import OkrState
from services.bootstrap import Platform, build

DEFAULT_POSTGRES_URL = "postgresql://postgres:postgres@127.0.0.1:5432/test"
POSTGRES_URL_ENV = "OKRGOV_BENCH_DATABASE_URL"
BLOCKS = 10  # the timed check-ins alternate between okrgov and bare in this many blocks


# ---- results --------------------------------------------------------------------------


@dataclass
class BackendResult:
    backend: str
    details: str
    setup_events: int
    command: Rate
    bare: Rate
    catch_up: Rate
    raw_read: Rate
    rebuild: Rate
    in_place: Rate


def timed(fn: Callable[[], int]) -> Rate:
    start = time.perf_counter()
    count = fn()
    return Rate(count, time.perf_counter() - start)


def interleaved(
    work: list[CheckIn],
    first: Callable[[list[CheckIn]], int],
    second: Callable[[list[CheckIn]], int],
) -> tuple[Rate, Rate]:
    """Time both runners over the same work in alternating blocks (A B, B A, ...), so that
    drift in machine load or store size falls on both alike."""
    size = max(1, -(-len(work) // BLOCKS))
    a, b = Rate(0, 0.0), Rate(0, 0.0)
    for n, start in enumerate(range(0, len(work), size)):
        chunk = work[start : start + size]
        order = [(first, a), (second, b)] if n % 2 == 0 else [(second, b), (first, a)]
        for run, total in order:
            started = time.perf_counter()
            total.count += run(chunk)
            total.seconds += time.perf_counter() - started
    return a, b


def best_of(repeats: int, prepare: Callable[[], None], fn: Callable[[], int]) -> Rate:
    """Fastest of ``repeats`` runs, ``prepare`` untimed before each."""
    runs = []
    for _ in range(repeats):
        prepare()
        runs.append(timed(fn))
    counts = {r.count for r in runs}
    if len(counts) != 1:
        raise RuntimeError(f"runs processed different numbers of events: {sorted(counts)}")
    return min(runs, key=lambda r: r.seconds)


# ---- the measurements -----------------------------------------------------------------


def run_ledger(platform: Platform, key_results: list[UUID], work: list[CheckIn]) -> int:
    check_in = platform.ledger.check_in
    for c in work:
        check_in(OWNER, key_results[c.target], c.value, c.confidence, c.note)
    return len(work)


def measure(
    backend: str,
    details: str,
    settings: Settings,
    bare_env: dict[str, str],
    args: argparse.Namespace,
) -> BackendResult:
    platform = build(settings)
    bare = BareApp(env=bare_env)
    try:
        key_results = seed(platform, args.key_results)
        gauge_ids = new_gauges(bare, args.key_results)
        setup_events = _max_position(platform)

        warm_up = workload(max(1, args.warm_up), args.key_results)
        run_ledger(platform, key_results, warm_up)
        decision = decision_template(platform)
        run_bare(bare, gauge_ids, decision, warm_up)

        work = workload(args.checkins, args.key_results, offset=args.warm_up)
        command, bare_rate = interleaved(
            work,
            lambda chunk: run_ledger(platform, key_results, chunk),
            lambda chunk: run_bare(bare, gauge_ids, decision, chunk),
        )

        follower = platform.followers[OkrState.name]
        follower.catch_up()  # warm-up pass over the whole store
        stored = follower.view.position()
        catch_up = best_of(args.repeats, follower.view.reset, follower.catch_up)
        if follower.view.position() != stored:
            raise RuntimeError("the rebuilt view did not reach the end of the store")
        raw_read = best_of(
            args.repeats, lambda: None, lambda: read_raw(platform, follower.batch_size)
        )
        if raw_read.count != catch_up.count:
            raise RuntimeError(f"read {raw_read.count} notifications, applied {catch_up.count}")
        rebuilt = rebuilds(platform, args.repeats)
        return BackendResult(
            backend, details, setup_events, command, bare_rate, catch_up, raw_read, *rebuilt
        )
    finally:
        bare.close()
        platform.close()


def rebuilds(platform: Platform, repeats: int) -> tuple[Rate, Rate]:
    """Every read model rebuilt as ``okrgov projections rebuild`` does it (aside, then
    switched in: the live views serve throughout), beside the in-place rebuild it replaced
    (views emptied, then refilled: readers meanwhile saw partial views). Events counted
    over all the views."""
    views = [f for name, f in platform.followers.items() if name != LEAF_LOG]

    def aside() -> int:
        return sum(r.events for r in platform.rebuild())

    def in_place() -> int:
        return sum(f.catch_up() for f in views)

    def empty() -> None:
        for follower in views:
            follower.view.reset()

    return best_of(repeats, lambda: None, aside), best_of(repeats, empty, in_place)


def _max_position(platform: Platform) -> int:
    return platform.ledger.recorder.max_notification_id() or 0


# ---- backends -------------------------------------------------------------------------


def sqlite_backend(args: argparse.Namespace) -> BackendResult:
    with tempfile.TemporaryDirectory(prefix="okrgov-bench-") as tmp:
        settings = _settings(args, data_dir=Path(tmp))
        env = eventsourcing_env(settings)
        bare_env = {**env, "SQLITE_DBNAME": str(Path(tmp) / "bare.sqlite")}
        return measure("sqlite", _sqlite_details(env["SQLITE_DBNAME"]), settings, bare_env, args)


def _sqlite_details(db_name: str) -> str:
    """The pragmas that decide what a commit costs, as eventsourcing's connections have them."""
    datastore = SQLiteDatastore(db_name)
    try:
        with datastore.transaction(commit=False) as c:
            c.execute("PRAGMA journal_mode")
            journal = str(c.fetchone()[0])
            c.execute("PRAGMA synchronous")
            sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(c.fetchone()[0], "?")
    finally:
        datastore.close()
    return f"journal_mode={journal}, synchronous={sync}"


def postgres_backend(args: argparse.Namespace) -> BackendResult:
    url: str = args.postgres_url
    with fresh_schema(url) as schema, tempfile.TemporaryDirectory(prefix="okrgov-bench-") as tmp:
        settings = _settings(args, data_dir=Path(tmp), database_url=url, database_schema=schema)
        bare_env = eventsourcing_env(settings)  # same schema, table benchbare_events
        return measure("postgres", _postgres_details(url), settings, bare_env, args)


def run_writers_postgres(args: argparse.Namespace) -> list[Writers]:
    """Writer processes on a fresh schema of their own (bench/writers.py)."""
    url: str = args.postgres_url
    with fresh_schema(url) as schema, tempfile.TemporaryDirectory(prefix="okrgov-bench-") as tmp:
        settings = _settings(args, data_dir=Path(tmp), database_url=url, database_schema=schema)
        return run_writers(settings, args.writers, args.writer_checkins)


def _postgres_details(url: str) -> str:
    with psycopg.connect(url, connect_timeout=10) as conn:
        version = _show(conn, "server_version")
        sync = _show(conn, "synchronous_commit")
        fsync = _show(conn, "fsync")
    return f"server {version}, synchronous_commit={sync}, fsync={fsync}"


def _show(conn: psycopg.Connection[Any], setting: str) -> str:
    row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(setting))).fetchone()
    return str(row[0]) if row else "?"


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    # A fixed key keeps the token signer from writing a secret file; logging at WARNING
    # keeps one JSON line per command out of the measurement (see --log-level).
    return Settings(
        secret_key="bench-only-not-a-secret-bench-only", log_level=args.log_level, **overrides
    )


# ---- report ---------------------------------------------------------------------------


def _row(backend: str, measure: str, rate: Rate) -> str:
    return (
        f"{backend:<9} {measure:<40} {rate.count:>7,} {rate.seconds:>8.3f} "
        f"{rate.per_second:>9,.0f} {rate.micros_each:>9,.0f}"
    )


def _ratio_row(backend: str, measure: str, ratio: float, note: str = "") -> str:
    return f"{backend:<9} {measure:<40} {'':>7} {'':>8} {ratio:>8.2f}x {note}".rstrip()


def report_header(args: argparse.Namespace) -> None:
    print(
        f"okrgov ledger benchmark: {args.checkins:,} check-ins over {args.key_results:,} key "
        f"results (single thread, after {args.warm_up:,} warm-up check-ins); "
        f"projection figures best of {args.repeats}"
    )
    print(
        f"{'backend':<9} {'measure':<40} {'events':>7} {'seconds':>8} {'per s':>9} {'us each':>9}"
    )


def report_backend(r: BackendResult) -> None:
    extra = r.command.micros_each - r.bare.micros_each
    print(_row(r.backend, "Ledger.check_in", r.command))
    print(_row(r.backend, "bare: get + check-in + decision, 1 save", r.bare))
    print(
        _ratio_row(
            r.backend,
            "  ratio check_in / bare",
            r.command.per_second / r.bare.per_second,
            f"({extra:+,.0f} us per command)",
        )
    )
    print(_row(r.backend, "OkrState follower catch_up (view reset)", r.catch_up))
    print(_row(r.backend, "select_notifications + to_domain_event", r.raw_read))
    print(
        _ratio_row(
            r.backend,
            "  ratio catch_up / raw read",
            r.catch_up.per_second / r.raw_read.per_second,
        )
    )
    print(_row(r.backend, "rebuild aside + switch (3 views)", r.rebuild))
    print(_row(r.backend, "in-place rebuild: reset + catch_up", r.in_place))
    print(
        _ratio_row(
            r.backend,
            "  ratio aside / in place",
            r.rebuild.per_second / r.in_place.per_second,
            f"({(r.rebuild.seconds - r.in_place.seconds) * 1000:+,.0f} ms: views never partial)",
        )
    )


def record_ratios(r: BackendResult, args: argparse.Namespace) -> None:
    """The ratios for ``make bench``'s summary table."""
    work = f"{r.command.count:,} check-ins over {args.key_results} key results, {r.backend}"
    record(
        "ledger",
        f"Ledger.check_in / raw append ({r.backend})",
        r.command.per_second / r.bare.per_second,
        baseline=f"bare eventsourcing get + check-in + decision in one save, "
        f"{r.bare.per_second:,.0f}/s",
        work=work,
        target=0.7,
    )
    record(
        "ledger",
        f"OKR-state catch-up / raw read ({r.backend})",
        r.catch_up.per_second / r.raw_read.per_second,
        baseline=f"select_notifications + decode, {r.raw_read.per_second:,.0f}/s",
        work=f"{r.catch_up.count:,} events, {r.backend}",
        target=0.5,
    )


def summary_line(r: BackendResult) -> str:
    return (
        f"{r.backend} ({r.details}): check-in {r.command.per_second:,.0f}/s vs bare "
        f"{r.bare.per_second:,.0f}/s ({r.command.per_second / r.bare.per_second:.2f}x); "
        f"catch-up {r.catch_up.per_second:,.0f} events/s vs raw read "
        f"{r.raw_read.per_second:,.0f}/s ({r.catch_up.per_second / r.raw_read.per_second:.2f}x) "
        f"over {r.catch_up.count:,} events ({r.setup_events} from setup); rebuild aside "
        f"{r.rebuild.seconds:.2f} s vs in place {r.in_place.seconds:.2f} s "
        f"({r.rebuild.per_second / r.in_place.per_second:.2f}x)"
    )


# ---- main -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--checkins", type=int, default=5000, help="timed check-ins (N)")
    parser.add_argument("--key-results", type=int, default=50, help="key results (K)")
    parser.add_argument("--warm-up", type=int, default=500, help="untimed check-ins before timing")
    parser.add_argument(
        "--repeats", type=int, default=5, help="runs of each projection measure (best kept)"
    )
    parser.add_argument(
        "--backends",
        default="sqlite,postgres",
        help="comma-separated: sqlite, postgres (default both)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL),
        help=f"libpq URL (default ${POSTGRES_URL_ENV}, else {DEFAULT_POSTGRES_URL})",
    )
    parser.add_argument(
        "--writers",
        default="1,8",
        help="PostgreSQL: writer processes to measure, comma-separated ('' for none)",
    )
    parser.add_argument(
        "--writer-checkins", type=int, default=150, help="check-ins per writer process"
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="okrgov log level; INFO adds the per-command log line (send stderr elsewhere)",
    )
    args = parser.parse_args(argv)
    if args.checkins < 1 or args.key_results < 1 or args.warm_up < 0 or args.repeats < 1:
        parser.error("--checkins, --key-results, --repeats must be >= 1, --warm-up >= 0")
    parser_writers = [int(w) for w in args.writers.split(",") if w]
    args.writers = parser_writers
    unknown = set(args.backends.split(",")) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown backends: {sorted(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runners: dict[str, Callable[[argparse.Namespace], BackendResult]] = {
        "sqlite": sqlite_backend,
        "postgres": postgres_backend,
    }
    report_header(args)
    results: list[BackendResult] = []
    skipped: list[str] = []
    for name in args.backends.split(","):
        try:
            result = runners[name](args)
        except psycopg.OperationalError as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            skipped.append(f"{name}: SKIPPED, cannot use {redact(args.postgres_url)}: {first_line}")
            print(f"{name:<9} SKIPPED ({first_line})", flush=True)
            continue
        results.append(result)
        report_backend(result)
        record_ratios(result, args)
        if name == "postgres" and args.writers:
            writers_report(run_writers_postgres(args), args.writer_checkins)
        sys.stdout.flush()
    print()
    for r in results:
        print(summary_line(r))
    for line in skipped:
        print(line)
    return 1 if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
