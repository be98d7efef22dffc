"""Serving the API over HTTP: uvicorn, configured in one place for ``okrgov serve`` and the
tests that run a real server.

* no ``server`` banner (``server_header=False``): the answer does not say what runs it;
* our ``RequestContext`` middleware logs each request with its correlation id, so
  uvicorn's access log (which has none) is off, and its own logger goes through ours;
* an answer streamed with chunked encoding that fails part way is cut: uvicorn closes the
  connection without the terminating chunk, so the client sees an incomplete transfer;
* once it listens, ``okrgov serve`` prints one line on stdout for the person who started
  it: where the API and its docs are, and how to get a token (``ready_line``).

One process or several (``serve_processes``): a Python process runs one thread at a time,
so one server process tops out near one core however many requests wait. Several
processes share one listening socket (the kernel hands each new connection to one of
them), each with its own platform over the same store; each may be pinned to a core of
its own, which spares its threads the cost of handing the interpreter lock across cores.
docs/deployment.md gives the measured figures."""

import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
from collections.abc import Sequence

import structlog
import uvicorn
from fastapi import FastAPI

from infra.config import Settings

log = structlog.get_logger(__name__)

#: How long a stopping worker has to finish the requests it is answering.
STOP_SECONDS = 30


def server_config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, server_header=False
    )


def ready_line(host: str, port: int, program: str | None = None) -> str:
    """What ``okrgov serve`` prints once it listens: the URLs to open (the console, the API
    docs) and the command that
    makes a token (as the person ran okrgov, e.g. ``.venv/bin/okrgov`` under ``make run``)."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else "[::1]" if host == "::" else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    base = f"http://{shown}:{port}"
    command = program or _program()
    return (
        f"okrgov serves {base}  console: {base}/console  API docs: {base}/docs "
        f"(ReDoc: {base}/redoc)  a token: {command} token create --user YOU --role executive"
    )


def _program() -> str:
    """How this okrgov was started: relative to the working directory when it lies below."""
    started = sys.argv[0] if sys.argv else ""
    if os.path.basename(started) != "okrgov":
        return "okrgov"
    if os.sep not in started:
        return started
    relative = os.path.relpath(started)
    return started if relative.startswith("..") else relative


class _Announcing(uvicorn.Server):
    """uvicorn's server, printing ``line`` on stdout once it listens."""

    def __init__(self, config: uvicorn.Config, line: str | None) -> None:
        super().__init__(config)
        self.line = line

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.line:
            print(self.line, flush=True)


def serve(app: FastAPI, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM."""
    _Announcing(server_config(app, host, port), ready_line(host, port)).run()


def pin(cpus: Sequence[int]) -> None:
    """Run this process (and every thread and process it starts from now on) on ``cpus``."""
    os.sched_setaffinity(0, set(cpus))
    log.info("serve.pinned", cpus=sorted(cpus))


def cpu_of(index: int, cpus: Sequence[int]) -> int:
    """The core worker ``index`` runs on: the allowed cores in turn."""
    return sorted(cpus)[index % len(cpus)]


def serve_processes(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    cpus: Sequence[int] | None,
) -> int:
    """Serve with ``workers`` processes on one socket until SIGINT or SIGTERM, worker i
    pinned to core ``cpu_of(i, cpus)`` (``cpus`` None: not pinned). Each worker builds its
    platform from ``settings`` and follows the store itself; reads wait for the store's
    head (``Settings.api_processes``), so a client whose next request reaches another
    process still reads its own writes. When one worker stops unexpectedly, the others are
    stopped too and the exit status is 1: a supervisor (systemd, the container runtime)
    restarts the whole server, never a server one process short."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    context = multiprocessing.get_context("spawn")
    shared = settings.model_copy(update={"api_processes": workers})
    processes = [
        context.Process(
            target=_worker,
            args=(
                shared,
                sock,
                host,
                port,
                None if cpus is None else cpu_of(i, cpus),
                ready_line(host, port) if i == 0 else None,
            ),
            name=f"okrgov-api-{i}",
        )
        for i in range(workers)
    ]
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for process in processes:
            process.start()
        log.info("serve.started", workers=workers, host=host, port=port)
        while not stopping and all(p.is_alive() for p in processes):
            multiprocessing.connection.wait([p.sentinel for p in processes], timeout=0.5)
        failed = not stopping
        if failed:
            log.error("serve.worker_stopped", exit_codes=[p.exitcode for p in processes])
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join(STOP_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sock.close()
    return 1 if failed else 0


def _worker(
    settings: Settings,
    sock: socket.socket,
    host: str,
    port: int,
    cpu: int | None,
    line: str | None,
) -> None:
    """One server process: pinned first (so every thread and policy worker it starts runs
    on its core), then its platform built and started, then uvicorn on the shared socket
    (the first process prints the ready line once it listens)."""
    from services.api.app import create_app
    from services.bootstrap import build

    if cpu is not None:
        pin([cpu])
    platform = build(settings)
    try:
        platform.start()
        app = create_app(platform)
        _Announcing(server_config(app, host, port), line).run(sockets=[sock])
    finally:
        platform.close()
