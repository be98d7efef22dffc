"""Policy benchmark: what the guardrails cost, per decision and on the write path.

Single-threaded, embedded engine (regorus), the shipped bundle. In one run it measures:

1. one decision: ``DecisionPoint.decide`` on three realistic input documents, captured from
   the guard as the ledger built them while seeding (a ``key_result.add`` with 3 siblings,
   a ``key_result.check_in`` after lock, the ``cycle.lock`` of a K-key-result cycle), each
   N times, giving decisions per second and p50 / p99 latency; beside the same documents
   through a ``DecisionPoint`` of the same class on OPA's own Go evaluator in this process
   (``OpaGoEngine``: one query for deny and warn), the raw baseline, whose p50 over the
   embedded engine's is the ratio recorded (target 4) with the check-in's p50 (target
   <= 40 us); beside the same engine class loaded with a trivial bundle (``deny`` and
   ``warn`` that never hold), i.e. the engine's fixed cost; and beside the shipped bundle
   evaluated in a worker process (``SandboxedEngine``, as the server runs it), i.e. what
   the sandbox adds; plus what starting a worker costs;
2. the write path: check-ins per second through ``Ledger.check_in`` with the guard as
   shipped, beside the same ledger with the guard switched off for this benchmark only
   (``SwitchableLedger``: no input document, no decision, no Decision recorded), with the
   events each variant records per command.

Run ``python bench/policy.py --help`` for the options; bench/README.md explains the figures.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock
from uuid import UUID

import psycopg
from common import CheckIn, Rate, fresh_schema, redact, workload
from eventsourcing.domain import Aggregate
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import sql
from summary import record

from events import Commitment, Level, Stamp
from infra.config import Settings
from infra.persistence import eventsourcing_env
from policies.bundle import PolicyBundle, canonical_json, load_shipped_bundle
from policies.decision_point import DecisionPoint, Ruling
from policies.embedded import EmbeddedEngine
from policies.engine import PolicyEngine, Verdict
from policies.opa_golib import OpaGoEngine, OpaUnavailable
from policies.sandbox import Budgets
from policies.sandboxed import SandboxedEngine
from services import bootstrap
from services.application.guard import Allowed, Guard
from services.application.ledger import Ledger, Recorded
from services.application.ledger_base import LedgerBase
from services.application.principals import Principal
from services.bootstrap import Platform

DEFAULT_POSTGRES_URL = "postgresql://postgres:postgres@127.0.0.1:5432/test"
POSTGRES_URL_ENV = "OKRGOV_BENCH_DATABASE_URL"
KEY_RESULTS_PER_OBJECTIVE = 5  # the shipped limit (data.json limits.max_key_results_per_objective)
BLOCKS = 10  # timed work alternates between the two variants in this many blocks

# Users of the shipped data.json: tom is client-facing (investor_relations), so the
# sales_conduct rule scans every key result title and unit for sales-volume terms.
EXECUTIVE = Principal.of("priya", ["executive"])
OWNER = Principal.of("tom", ["member"])

# The baseline bundle: what the engine costs with rules that never hold. It defines warn
# as well as deny, so the engine makes the same two rule evaluations as with the shipped one.
TRIVIAL_BUNDLE = PolicyBundle(
    modules={
        "trivial.rego": (
            "package okrgov.guardrails\n\n"
            'deny contains {"rule": "never", "message": "never"} if false\n\n'
            'warn contains {"rule": "never", "message": "never"} if false\n'
        )
    },
    data={},
)

ACTIONS = ("key_result.add", "key_result.check_in", "cycle.lock")

OBJECTIVE_TITLES = (
    "Give every client a faster and safer onboarding",
    "Make our reporting to investors timely and accurate",
    "Keep portfolio risk inside the limits the board set",
    "Run operations that pass any audit without surprises",
)

# Key result definitions cycled through (owner added). All pass the deny rules; the
# regulated-domain increases carry a guardrail metric or sit beside a decrease.
DEFINITIONS: tuple[dict[str, Any], ...] = (
    {"title": "Client retention", "unit": "%", "baseline": 88, "target": 93,
     "direction": "increase", "risk_domain": "conduct", "risk_rating": 2,
     "guardrail_metric": "complaints per 1,000 clients"},
    {"title": "Onboarding time", "unit": "days", "baseline": 20, "target": 10,
     "direction": "decrease", "risk_domain": "operational", "risk_rating": 2},
    {"title": "Suitability review findings", "unit": "findings", "baseline": 12, "target": 4,
     "direction": "decrease", "risk_domain": "conduct", "risk_rating": 1},
    {"title": "Investor report turnaround", "unit": "days", "baseline": 15, "target": 8,
     "direction": "decrease", "risk_domain": "operational", "risk_rating": 2},
    {"title": "Straight-through trade processing", "unit": "%", "baseline": 70, "target": 85,
     "direction": "increase", "risk_domain": "operational", "risk_rating": 3},
)  # fmt: skip


# ---- the ledger with a switchable guard (benchmark only) ------------------------------


NO_GUARD = Allowed(Ruling(Verdict([], []), 0, "", ""), "unguarded", OWNER, "none")


class SwitchableGuard(Guard):
    """The shipped ``Guard`` that this benchmark can switch off.

    ``guarded = True``: ``check`` and ``commit`` are the shipped ones (reached through one
    extra method call each). ``guarded = False``, for the comparison only: ``check`` builds
    no input document and asks nothing, ``commit`` saves the command's events alone, with
    no Decision. Nothing else of the command changes.
    """

    guarded = True

    def check(self, *args: Any, **kwargs: Any) -> Allowed:
        if self.guarded:
            return super().check(*args, **kwargs)
        return NO_GUARD

    def commit(
        self,
        store: LedgerBase,
        allowed: Allowed,
        stamp: Stamp,
        subject: Aggregate,
        *others: Aggregate,
    ) -> Recorded:
        if self.guarded:
            return super().commit(store, allowed, stamp, subject, *others)
        return store.record(subject, *others)


class SwitchableLedger(Ledger):
    """The shipped ``Ledger`` with a ``SwitchableGuard`` around the decision point that
    ``bootstrap.build()`` chose; ``guarded`` and ``decision_point`` reach the guard."""

    def __init__(self, env: Any = None, *, guard: Guard | None = None, **kwargs: Any) -> None:
        point = guard.decision_point if guard is not None else None
        super().__init__(env, guard=SwitchableGuard(point), **kwargs)

    @property
    def switch(self) -> SwitchableGuard:
        assert isinstance(self.guard, SwitchableGuard)
        return self.guard

    @property
    def guarded(self) -> bool:
        return self.switch.guarded

    @guarded.setter
    def guarded(self, on: bool) -> None:
        self.switch.guarded = on

    @property
    def decision_point(self) -> Any:
        return self.switch.decision_point

    @decision_point.setter
    def decision_point(self, point: Any) -> None:
        self.switch.decision_point = point


class CapturingDecisionPoint(DecisionPoint):
    """Keeps every input document it decides on (used while seeding, never timed)."""

    def __init__(self, engine: EmbeddedEngine) -> None:
        super().__init__(engine)
        self.documents: list[dict[str, Any]] = []

    def decide(self, document: dict[str, Any]) -> Ruling:
        self.documents.append(document)
        return super().decide(document)


def build_switchable(settings: Settings) -> tuple[Platform, SwitchableLedger]:
    """``bootstrap.build()`` as shipped, with ``SwitchableLedger`` as its ledger class."""
    with mock.patch.object(bootstrap.platform, "Ledger", SwitchableLedger):
        platform = bootstrap.build(settings)
    ledger = platform.ledger
    if not isinstance(ledger, SwitchableLedger):
        raise RuntimeError("bootstrap.build() did not use the benchmark's ledger class")
    return platform, ledger


# ---- workload -------------------------------------------------------------------------


@dataclass
class Seeded:
    key_results: list[UUID]
    documents: dict[str, dict[str, Any]]  # action -> the input document the guard built


def seed(ledger: SwitchableLedger, key_results: int) -> Seeded:
    """Through the real commands, guard on: one cycle, objectives of 5 key results, one
    check-in on each key result, the cycle locked, one check-in after lock. The guard's
    input documents are captured on the way."""
    shipped = ledger.decision_point
    capturing = CapturingDecisionPoint(EmbeddedEngine())
    ledger.decision_point = capturing
    try:
        cycle = ledger.open_cycle(
            EXECUTIVE, "Bench quarter", date(2026, 1, 1), date(2026, 3, 31)
        ).id
        ids: list[UUID] = []
        objective: UUID | None = None
        for i in range(key_results):
            if i % KEY_RESULTS_PER_OBJECTIVE == 0:
                n = i // KEY_RESULTS_PER_OBJECTIVE
                objective = ledger.create_objective(
                    EXECUTIVE,
                    cycle,
                    title=OBJECTIVE_TITLES[n % len(OBJECTIVE_TITLES)],
                    owner=OWNER.user,
                    level=Level.TEAM,
                    commitment=Commitment.COMMITTED,
                ).id
            assert objective is not None
            definition = {
                **DEFINITIONS[i % len(DEFINITIONS)],
                "owner": OWNER.user,
                "pay_linked": False,
            }
            ids.append(ledger.add_key_result(OWNER, objective, definition).id)
        for i, key_result in enumerate(ids):  # confidences 0.55-0.95: averages 0.75
            ledger.check_in(OWNER, key_result, 1.0, round(0.55 + (i % 5) / 10, 2), "baseline")
        ledger.lock_cycle(EXECUTIVE, cycle)
        ledger.check_in(OWNER, ids[0], 2.0, 0.7, "first week")
    finally:
        ledger.decision_point = shipped
    return Seeded(ids, _pick_documents(capturing.documents))


def _pick_documents(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    picked: dict[str, dict[str, Any]] = {}
    for doc in documents:
        action = doc["action"]
        if action == "key_result.add" and len(doc["siblings"]) != 3:
            continue
        if action == "key_result.check_in" and (doc["cycle"] or {}).get("state") != "locked":
            continue
        if action in ACTIONS:
            picked[action] = doc  # the last one of each kind
    missing = set(ACTIONS) - set(picked)
    if missing:
        raise RuntimeError(f"seeding produced no input document for {sorted(missing)}")
    return picked


# ---- results --------------------------------------------------------------------------


@dataclass
class Latencies:
    """Per-call times of one (document, bundle) pair, in nanoseconds."""

    samples: list[int] = field(default_factory=list)

    @property
    def rate(self) -> Rate:
        return Rate(len(self.samples), sum(self.samples) / 1e9)

    def percentile_us(self, q: float) -> float:
        """Nearest-rank percentile (q in 0..1), in microseconds."""
        ordered = sorted(self.samples)
        rank = max(1, math.ceil(q * len(ordered)))
        return ordered[rank - 1] / 1e3


@dataclass
class DecisionResult:
    action: str
    input_bytes: int
    verdict: Verdict
    shipped: Latencies
    trivial: Latencies
    sandboxed: Latencies
    opa: Latencies | None
    """OPA's Go evaluator in-process on the same documents (None: not installed here)."""


@dataclass
class WorkerStart:
    """Seconds to a first decision on a new sandboxed engine: the very first (which also
    starts the fork server) and each later one (a fork of the warm fork server, the
    bundle parsed and analysed in it, one decision)."""

    first: float
    later: list[float]


@dataclass
class WriteResult:
    backend: str
    details: str
    guarded: Rate
    unguarded: Rate
    guarded_events: int
    unguarded_events: int


# ---- 1. one decision ------------------------------------------------------------------


def decision_point_for(bundle: PolicyBundle, engine: PolicyEngine | None = None) -> DecisionPoint:
    """A decision point on ``engine`` (in-process regorus unless given), ``bundle`` active."""
    point = DecisionPoint(engine or EmbeddedEngine())
    point.ensure(1, bundle.digest(), lambda: bundle)
    return point


def sandboxed_engine() -> SandboxedEngine:
    """One worker process, the default budgets: the server's engine, one at a time."""
    return SandboxedEngine(1, Budgets())


def measure_worker_start(document: dict[str, Any], count: int) -> WorkerStart:
    """Time to the first decision of ``count`` + 1 new sandboxed engines, one after the
    other; the first of this process also starts the fork server."""
    shipped = load_shipped_bundle()
    times = []
    for _ in range(count + 1):
        engine = sandboxed_engine()
        point = decision_point_for(shipped, engine)
        started = time.perf_counter()
        point.decide(document)
        times.append(time.perf_counter() - started)
        point.close()
    return WorkerStart(times[0], times[1:])


def time_decisions(point: DecisionPoint, document: dict[str, Any], count: int) -> list[int]:
    decide, clock = point.decide, time.perf_counter_ns
    samples = []
    for _ in range(count):
        started = clock()
        decide(document)
        samples.append(clock() - started)
    return samples


def measure_decisions(
    documents: dict[str, dict[str, Any]], args: argparse.Namespace
) -> list[DecisionResult]:
    shipped = decision_point_for(load_shipped_bundle())
    trivial = decision_point_for(TRIVIAL_BUNDLE)
    sandboxed = decision_point_for(load_shipped_bundle(), sandboxed_engine())
    opa = opa_decision_point()
    results = {
        action: DecisionResult(
            action,
            len(canonical_json(documents[action]).encode("utf-8")),
            shipped.decide(documents[action]).verdict,
            Latencies(),
            Latencies(),
            Latencies(),
            Latencies() if opa else None,
        )
        for action in ACTIONS
    }
    for action in ACTIONS:  # the same decision, or the ratio compares different work
        if opa and opa.decide(documents[action]).verdict != results[action].verdict:
            raise RuntimeError(f"OPA and regorus decide {action} differently")
    points = [p for p in (shipped, trivial, sandboxed, opa) if p is not None]
    try:
        for action in ACTIONS:  # warm-up, untimed
            for point in points:
                time_decisions(point, documents[action], args.warm_up_decisions)
        size = max(1, -(-args.decisions // BLOCKS))
        for n, start in enumerate(range(0, args.decisions, size)):
            count = min(size, args.decisions - start)
            for action in ACTIONS:
                r = results[action]
                order = [(shipped, r.shipped), (trivial, r.trivial), (sandboxed, r.sandboxed)]
                if opa is not None and r.opa is not None:
                    order.append((opa, r.opa))
                for point, into in order if n % 2 == 0 else reversed(order):
                    into.samples += time_decisions(point, documents[action], count)
    finally:
        sandboxed.close()
        if opa is not None:
            opa.close()
    return [results[a] for a in ACTIONS]


def opa_decision_point() -> DecisionPoint | None:
    """The shipped bundle on OPA's Go evaluator in this process, or None where it is not
    installed (the report says so)."""
    try:
        return decision_point_for(load_shipped_bundle(), OpaGoEngine())
    except OpaUnavailable:
        return None


# ---- 2. the write path ----------------------------------------------------------------


def run_check_ins(
    ledger: SwitchableLedger, key_results: list[UUID], work: list[CheckIn], guarded: bool
) -> tuple[Rate, int]:
    """Check-ins with the guard on or off: the rate, and the events recorded."""
    ledger.guarded = guarded
    before = ledger.recorder.max_notification_id() or 0
    check_in = ledger.check_in
    started = time.perf_counter()
    for c in work:
        check_in(OWNER, key_results[c.target], c.value, c.confidence, c.note)
    seconds = time.perf_counter() - started
    ledger.guarded = True
    return Rate(len(work), seconds), (ledger.recorder.max_notification_id() or 0) - before


def measure_writes(
    backend: str, details: str, settings: Settings, args: argparse.Namespace
) -> tuple[WriteResult, dict[str, dict[str, Any]]]:
    platform, ledger = build_switchable(settings)
    try:
        seeded = seed(ledger, args.key_results)
        warm_up = workload(args.warm_up, args.key_results)
        run_check_ins(ledger, seeded.key_results, warm_up, guarded=True)
        run_check_ins(ledger, seeded.key_results, warm_up, guarded=False)

        work = workload(args.checkins, args.key_results, offset=args.warm_up)
        size = max(1, -(-len(work) // BLOCKS))
        on, off = Rate(0, 0.0), Rate(0, 0.0)
        events = {True: 0, False: 0}
        for n, start in enumerate(range(0, len(work), size)):
            chunk = work[start : start + size]
            order = [(True, on), (False, off)] if n % 2 == 0 else [(False, off), (True, on)]
            for guarded, total in order:
                rate, recorded = run_check_ins(ledger, seeded.key_results, chunk, guarded)
                total.count += rate.count
                total.seconds += rate.seconds
                events[guarded] += recorded
        result = WriteResult(backend, details, on, off, events[True], events[False])
        return result, seeded.documents
    finally:
        platform.close()


# ---- backends -------------------------------------------------------------------------


def sqlite_backend(args: argparse.Namespace) -> tuple[WriteResult, dict[str, dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="okrgov-bench-") as tmp:
        settings = _settings(args, data_dir=Path(tmp))
        details = _sqlite_details(eventsourcing_env(settings)["SQLITE_DBNAME"])
        return measure_writes("sqlite", details, settings, args)


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


def postgres_backend(args: argparse.Namespace) -> tuple[WriteResult, dict[str, dict[str, Any]]]:
    url: str = args.postgres_url
    with fresh_schema(url) as schema, tempfile.TemporaryDirectory(prefix="okrgov-bench-") as tmp:
        settings = _settings(args, data_dir=Path(tmp), database_url=url, database_schema=schema)
        return measure_writes("postgres", _postgres_details(url), settings, args)


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
    # keeps one JSON line per command out of the measurement (see --log-level). The
    # embedded engine is forced: this benchmark measures it, whatever the environment says.
    return Settings(
        secret_key="bench-only-not-a-secret-bench-only",
        log_level=args.log_level,
        policy_engine="embedded",
        **overrides,
    )


# ---- report ---------------------------------------------------------------------------


def _verdict_text(verdict: Verdict) -> str:
    outcome = "allowed" if verdict.allowed else "DENIED " + ",".join(v.rule for v in verdict.deny)
    warned = sorted({v.rule for v in verdict.warn})
    return f"{outcome}, warn: {', '.join(warned) if warned else 'none'}"


def report_decisions(results: list[DecisionResult], args: argparse.Namespace) -> None:
    print(
        f"1. one decision: DecisionPoint.decide, {args.decisions:,} timed evaluations per "
        f"document and variant (after {args.warm_up_decisions:,} warm-up), {BLOCKS} "
        "alternating blocks; in-process regorus (shipped, trivial), in a worker process "
        "(sandboxed: the shipped bundle as the server evaluates it) and OPA's Go evaluator "
        "in-process (opa: the shipped bundle, one query for deny and warn: the baseline)"
    )
    for r in results:
        print(
            f"   {r.action}: {r.input_bytes:,} bytes of input; shipped: {_verdict_text(r.verdict)}"
        )
    print(
        f"{'input':<20} {'bundle':<18} {'decisions':>9} {'seconds':>8} {'per s':>9} "
        f"{'us mean':>8} {'us p50':>8} {'us p99':>8}"
    )
    for r in results:
        rows = [("shipped", r.shipped), ("trivial baseline", r.trivial), ("sandboxed", r.sandboxed)]
        if r.opa is not None:
            rows.append(("opa (Go, in-process)", r.opa))
        for name, lat in rows:
            rate = lat.rate
            print(
                f"{r.action:<20} {name:<18} {rate.count:>9,} {rate.seconds:>8.3f} "
                f"{rate.per_second:>9,.0f} {rate.micros_each:>8,.1f} "
                f"{lat.percentile_us(0.5):>8,.1f} {lat.percentile_us(0.99):>8,.1f}"
            )
        ratio = r.shipped.rate.per_second / r.trivial.rate.per_second
        extra = r.shipped.rate.micros_each - r.trivial.rate.micros_each
        extra_p50 = r.shipped.percentile_us(0.5) - r.trivial.percentile_us(0.5)
        print(
            f"{'':<20} {'  ratio shipped/trivial':<28} {'':>8} {ratio:>8.2f}x "
            f"(rules {extra:+,.1f} us mean, {extra_p50:+,.1f} us p50)"
        )
        boxed = r.sandboxed.rate.micros_each / r.shipped.rate.micros_each
        added = r.sandboxed.rate.micros_each - r.shipped.rate.micros_each
        added_p50 = r.sandboxed.percentile_us(0.5) - r.shipped.percentile_us(0.5)
        print(
            f"{'':<20} {'  ratio sandboxed/in-process':<28} {'':>8} {boxed:>8.2f}x "
            f"(time; the sandbox {added:+,.1f} us mean, {added_p50:+,.1f} us p50)"
        )
        if r.opa is not None:
            print(
                f"{'':<20} {'  ratio OPA/shipped (p50)':<28} {'':>8} "
                f"{r.opa.percentile_us(0.5) / r.shipped.percentile_us(0.5):>8.2f}x "
                f"(p10 {r.opa.percentile_us(0.1) / r.shipped.percentile_us(0.1):.2f}x, "
                f"p99 {r.opa.percentile_us(0.99) / r.shipped.percentile_us(0.99):.2f}x, "
                f"mean {r.opa.rate.micros_each / r.shipped.rate.micros_each:.2f}x; "
                "target >= 4x; a loaded machine slows OPA's Go runtime more: see p10)"
            )


def record_decisions(results: list[DecisionResult], args: argparse.Namespace) -> None:
    """The issue's decision targets, for ``make bench``'s summary table."""
    for r in results:
        work = f"{args.decisions:,} decisions of a {r.input_bytes:,}-byte input"
        if r.opa is not None:
            record(
                "policy",
                f"decision {r.action}: OPA / embedded p50",
                r.opa.percentile_us(0.5) / r.shipped.percentile_us(0.5),
                baseline="OPA's Go evaluator in-process (OpaGoEngine), one query for deny "
                "and warn, the same input through DecisionPoint.decide",
                work=work,
                target=4,
            )
        if r.action == "key_result.check_in":
            record(
                "policy",
                "decision key_result.check_in p50, us (embedded)",
                r.shipped.percentile_us(0.5),
                baseline=f"trivial bundle p50 {r.trivial.percentile_us(0.5):,.1f} us",
                work=work,
                target=40,
                higher_is_better=False,
            )


def report_worker_start(start: WorkerStart) -> None:
    later = sorted(start.later)
    print(
        f"   worker start, to the first decision on a new sandboxed engine: the process's "
        f"first {start.first * 1000:,.0f} ms (fork server started too); then "
        f"{len(later)} more: median {later[len(later) // 2] * 1000:,.1f} ms, "
        f"max {later[-1] * 1000:,.1f} ms"
    )


def report_writes_header(args: argparse.Namespace) -> None:
    print(
        f"2. the write path: {args.checkins:,} check-ins per variant over {args.key_results:,} "
        f"key results of a locked cycle (after {args.warm_up:,} warm-up check-ins each), "
        f"{BLOCKS} alternating blocks on the same ledger and store"
    )
    print(
        f"{'backend':<9} {'measure':<44} {'commands':>8} {'seconds':>8} {'per s':>7} "
        f"{'us each':>8} {'events/cmd':>10}"
    )


def report_writes(r: WriteResult) -> None:
    rows = (
        ("Ledger.check_in, guard as shipped", r.guarded, r.guarded_events),
        ("Ledger.check_in, guard OFF (bench-only no-op)", r.unguarded, r.unguarded_events),
    )
    for measure, rate, events in rows:
        print(
            f"{r.backend:<9} {measure:<44} {rate.count:>8,} {rate.seconds:>8.3f} "
            f"{rate.per_second:>7,.0f} {rate.micros_each:>8,.0f} {events / rate.count:>10.2f}"
        )
    extra = r.guarded.micros_each - r.unguarded.micros_each
    print(
        f"{r.backend:<9} {'  ratio guarded / unguarded':<44} {'':>8} {'':>8} "
        f"{r.guarded.per_second / r.unguarded.per_second:>6.2f}x "
        f"({extra:+,.0f} us per command for governance)"
    )


def summary_lines(
    decisions: list[DecisionResult], writes: list[WriteResult], start: WorkerStart
) -> list[str]:
    lines = []
    for d in decisions:
        lines.append(
            f"decide {d.action} ({d.input_bytes:,} bytes): {d.shipped.rate.per_second:,.0f}/s, "
            f"p50 {d.shipped.percentile_us(0.5):,.0f} us, p99 {d.shipped.percentile_us(0.99):,.0f} "
            f"us (trivial bundle {d.trivial.rate.per_second:,.0f}/s, "
            f"p50 {d.trivial.percentile_us(0.5):,.0f} us); sandboxed "
            f"{d.sandboxed.rate.per_second:,.0f}/s, p50 {d.sandboxed.percentile_us(0.5):,.0f} us "
            f"({d.sandboxed.rate.micros_each / d.shipped.rate.micros_each:.2f}x the time)"
            + (
                f"; OPA in-process p50 {d.opa.percentile_us(0.5):,.0f} us "
                f"({d.opa.percentile_us(0.5) / d.shipped.percentile_us(0.5):.2f}x)"
                if d.opa is not None
                else "; OPA in-process: not installed"
            )
        )
    later = sorted(start.later)
    lines.append(
        f"worker start to first decision: {start.first * 1000:,.0f} ms the first in a process, "
        f"then median {later[len(later) // 2] * 1000:,.1f} ms"
    )
    for w in writes:
        lines.append(
            f"{w.backend} ({w.details}): check-in {w.guarded.per_second:,.0f}/s guarded vs "
            f"{w.unguarded.per_second:,.0f}/s unguarded "
            f"({w.guarded.per_second / w.unguarded.per_second:.2f}x), "
            f"{w.guarded_events / w.guarded.count:.0f} vs "
            f"{w.unguarded_events / w.unguarded.count:.0f} events per command"
        )
    return lines


# ---- main -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--decisions", type=int, default=3000, help="timed decisions per document and bundle"
    )
    parser.add_argument(
        "--warm-up-decisions", type=int, default=500, help="untimed decisions of each first"
    )
    parser.add_argument(
        "--checkins", type=int, default=1000, help="timed check-ins per variant (guard on/off)"
    )
    parser.add_argument(
        "--worker-starts", type=int, default=3, help="new sandboxed engines timed to a decision"
    )
    parser.add_argument(
        "--key-results",
        type=int,
        default=50,
        help="K, the key results of the cycle (locked, and checked in on round-robin)",
    )
    parser.add_argument(
        "--warm-up", type=int, default=200, help="untimed check-ins per variant before timing"
    )
    parser.add_argument(
        "--backends",
        default="sqlite",
        help="comma-separated: sqlite, postgres (default sqlite; add postgres for both)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL),
        help=f"libpq URL (default ${POSTGRES_URL_ENV}, else {DEFAULT_POSTGRES_URL})",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="okrgov log level; INFO adds the per-command log lines (send stderr elsewhere)",
    )
    args = parser.parse_args(argv)
    if args.decisions < 1 or args.checkins < 1 or args.warm_up < 0 or args.warm_up_decisions < 0:
        parser.error("--decisions, --checkins must be >= 1, the warm-ups >= 0")
    if args.worker_starts < 1:
        parser.error("--worker-starts must be >= 1")
    if args.key_results < 4:
        parser.error("--key-results must be >= 4 (the key_result.add input has 3 siblings)")
    backends = args.backends.split(",")
    unknown = set(backends) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown backends: {sorted(unknown)}")
    if "sqlite" not in backends:
        parser.error("--backends must include sqlite (the decision inputs are captured there)")
    args.backends = backends
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        "okrgov policy benchmark: embedded engine (regorus), the shipped bundle, single thread; "
        f"inputs from a cycle of {args.key_results:,} key results",
        flush=True,
    )
    start = measure_worker_start({"action": "cycle.open"}, args.worker_starts)
    sqlite_writes, documents = sqlite_backend(args)
    decisions = measure_decisions(documents, args)
    print()
    report_decisions(decisions, args)
    record_decisions(decisions, args)
    report_worker_start(start)
    print()
    report_writes_header(args)
    report_writes(sqlite_writes)
    sys.stdout.flush()
    writes = [sqlite_writes]
    skipped: list[str] = []
    if "postgres" in args.backends:
        try:
            writes.append(postgres_backend(args)[0])
            report_writes(writes[-1])
        except psycopg.OperationalError as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            skipped.append(
                f"postgres: SKIPPED, cannot use {redact(args.postgres_url)}: {first_line}"
            )
            print(f"{'postgres':<9} SKIPPED ({first_line})")
    print()
    for line in summary_lines(decisions, writes, start) + skipped:
        print(line)
    return 1 if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
