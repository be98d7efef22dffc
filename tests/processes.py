"""Real ``okrgov`` processes for the tests that need several of them on one store: the
environment that gives a process a test's settings, and the processes themselves, stopped
(and their logs kept for a failure's message) when the test ends."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import postgres_server
from kafka_broker import cli_env

from infra.config import Settings

OKRGOV = str(Path(sys.executable).with_name("okrgov"))


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment under which a process builds ``settings`` (and ``extra``)."""
    return {**cli_env(settings), **extra}


def free_port() -> int:
    return postgres_server.free_port("127.0.0.1")


class Processes:
    """The processes one test started; each one's output goes to a file of its own."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
        log = self.logs / f"process-{len(self.running)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [OKRGOV, *args], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.running.append((process, log))
        return process

    def serve(self, env: dict[str, str], timeout: float = 60) -> str:
        """An ``okrgov serve`` process; its base URL once ``/healthz`` answers."""
        return self.serve_many(env, 1, timeout)[0]

    def serve_many(self, env: dict[str, str], n: int, timeout: float = 60) -> list[str]:
        """``n`` ``okrgov serve`` processes started at once; their base URLs once each
        answers ``/healthz``."""
        servers = []
        for _ in range(n):
            port = free_port()
            process = self.start(env, "serve", "--host", "127.0.0.1", "--port", str(port))
            servers.append((process, f"http://127.0.0.1:{port}"))
        deadline = time.monotonic() + timeout
        for process, url in servers:
            while not self._answers(url):
                if process.poll() is not None:
                    raise RuntimeError(f"okrgov serve exited:\n{self.output(process)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"okrgov serve did not answer:\n{self.output(process)}")
                time.sleep(0.1)
        return [url for _, url in servers]

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def output(self, process: subprocess.Popen[bytes]) -> str:
        for running, log in self.running:
            if running is process:
                return log.read_text(errors="replace")[-4000:]
        return ""

    def stop_all(self) -> None:
        for process, _ in self.running:
            if process.poll() is None:
                process.terminate()
        for process, _ in self.running:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def processes(logs: Path) -> Iterator[Processes]:
    started = Processes(logs)
    try:
        yield started
    finally:
        started.stop_all()
