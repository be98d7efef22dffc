"""Worker processes that evaluate Rego for this process, each answer under a time budget.

Why processes. regorus holds the GIL for the whole of an evaluation (a 3.4 s evaluation
let a ticking Python thread run twice), and its Python binding has no execution-time
limit. So no thread can bound an evaluation, and any evaluation in the server's own
process stalls every request with it. A child process can be killed.

How. Workers are started from the ``forkserver`` multiprocessing context, never by a plain
``fork`` of the threaded server, with ``policies.worker`` (and regorus) preloaded in the
fork server: a new worker is a fork of a warm process, ~15 ms, and the first start in a
process also starts the fork server (~0.2 s). A worker is not given the parent's main
module: multiprocessing would import it again in every child (Python 3.11's fork server
never preloads ``__main__``: it looks for a ``main_path`` key its preparation data does not
have), which costs ~1 s under ``okrgov serve``, and a worker needs nothing from it.
Each worker talks over its own ``multiprocessing.connection`` pipe, one JSON text per
request and per answer (``policies.worker`` lists the requests). The parent sends a request
and waits with ``poll(budget)``; past the budget it kills the worker (SIGKILL) and raises
``PolicyTimeout`` naming the budget. A worker that dies (a crash, the memory limit) raises
``PolicyWorkerFailed``. Both are ``PolicyEvaluationError``: callers fail closed.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import threading
from dataclasses import dataclass
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, ForkServerProcess, set_spawning_popen
from multiprocessing.process import BaseProcess
from typing import Any

from policies.engine import PolicyCompileError, PolicyEvaluationError, PolicyTimeout, budget_text
from policies.worker import serve

WORKER_MODULE = "policies.worker"

_context_lock = threading.Lock()
_context: ForkServerContext | None = None


@dataclass(frozen=True)
class Budgets:
    """Time budgets, in seconds.

    ``decision``: one evaluation: a decision, one test of a proposal, one probe.
    ``start``: getting a worker ready: starting it, loading a bundle into it (parsing and
    analysing the modules), or waiting for a free one.
    ``review``: a what-if, or all the checks of one proposal, in total.
    """

    decision: float = 0.5
    start: float = 5.0
    review: float = 10.0

    def __post_init__(self) -> None:
        for name in ("decision", "start", "review"):
            if getattr(self, name) <= 0:
                raise ValueError(f"the {name} budget must be positive")


class PolicyWorkerFailed(PolicyEvaluationError):
    """A worker process died or broke the protocol; it has been stopped."""


def forkserver_context() -> ForkServerContext:
    """The fork server context, with the worker module preloaded (set once, before the
    fork server starts)."""
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([WORKER_MODULE])
            _context = context
        return _context


class _WorkerPopen(popen_forkserver.Popen):
    """``popen_forkserver.Popen`` (Python 3.11) whose child is not told to import the
    parent's main module again; otherwise the same launch."""

    def _launch(self, process_obj: BaseProcess) -> None:
        prep_data = spawn.get_preparation_data(process_obj.name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        fds = self._fds  # type: ignore[attr-defined]
        self.sentinel, w = forkserver.connect_to_new_process(fds)
        _parent_w = os.dup(w)
        close = util.close_fds  # type: ignore[attr-defined]
        self.finalizer = util.Finalize(self, close, (_parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _WorkerProcess(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: BaseProcess) -> _WorkerPopen:
        return _WorkerPopen(process_obj)


class Worker:
    """One worker process and the parent's end of its pipe. Not thread-safe: one caller
    at a time (the pools hand a worker to one thread)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loaded: Any = None
        """What its caller has loaded into it (a pool notes the bundle generation)."""
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    @property
    def alive(self) -> bool:
        return self._conn is not None

    def start(self, budget: float) -> None:
        """Start the process and wait (bounded) until it answers."""
        context = forkserver_context()
        parent, child = context.Pipe(duplex=True)
        process = _WorkerProcess(target=serve, args=(child,), name=self.name, daemon=True)
        try:
            with _context_lock:  # one start at a time: the fork server serves them in turn
                process.start()
        except OSError as exc:
            parent.close()
            raise PolicyWorkerFailed(f"a policy worker could not be started: {exc}") from exc
        finally:
            child.close()
        self._process, self._conn = process, parent
        self.ask({"op": "ping"}, budget, "starting a policy worker")

    def ask(
        self, request: dict[str, Any], budget: float, what: str, input: str | None = None
    ) -> dict[str, Any]:
        """Send one request and wait at most ``budget`` seconds for the answer. Raises
        ``PolicyTimeout`` (the worker killed) past it and ``PolicyWorkerFailed`` when the
        worker dies; returns the answer otherwise (which may report an error). ``input``,
        an input document's JSON text, is sent after the request line as it is (not
        escaped into a JSON string and read back: for a lock's input, some 20 us)."""
        conn = self._conn
        if conn is None:
            raise PolicyWorkerFailed(f"the policy worker {self.name} is not running")
        message = json.dumps(request, ensure_ascii=False).encode("utf-8")
        if input is not None:
            message = b"%s\n%s" % (message, input.encode("utf-8"))
        try:
            conn.send_bytes(message)
            ready = conn.poll(budget)
        except OSError as exc:
            code = self.stop()
            raise PolicyWorkerFailed(f"{what}: the policy worker died ({_exit(code)})") from exc
        if not ready:
            self.stop()
            raise PolicyTimeout(
                f"{what} took longer than its {budget_text(budget)} budget, so it was stopped",
                budget,
            )
        try:
            answer = json.loads(conn.recv_bytes())
        except (EOFError, OSError, ValueError):
            code = self.stop()
            raise PolicyWorkerFailed(f"{what}: the policy worker died ({_exit(code)})") from None
        if not isinstance(answer, dict):
            self.stop()
            raise PolicyWorkerFailed(f"{what}: the policy worker answered {answer!r}")
        return answer

    def kill(self) -> None:
        """SIGKILL the process from any thread; the thread using the worker then sees it
        die (``PolicyWorkerFailed``) and cleans up."""
        process = self._process
        if process is not None:
            with contextlib.suppress(OSError, ValueError):  # already gone, or reaped
                process.kill()

    def stop(self) -> int | None:
        """Kill the process (SIGKILL: it may be deep in an evaluation) and reap it; its
        exit code, if known."""
        process, conn = self._process, self._conn
        self._process, self._conn, self.loaded = None, None, None
        if conn is not None:
            conn.close()
        if process is None:
            return None
        process.kill()
        process.join(timeout=5)
        code = process.exitcode
        if code is not None:
            process.close()
        return code


def expect(answer: dict[str, Any], what: str) -> Any:
    """The value of an ``ok`` answer; ``PolicyCompileError`` for a compile error and
    ``PolicyEvaluationError`` for any other error."""
    if "ok" in answer:
        return answer["ok"]
    compile_error = answer.get("compile_error")
    if isinstance(compile_error, dict):
        raise PolicyCompileError(
            compile_error.get("module"),
            compile_error.get("line"),
            str(compile_error.get("message")),
            compile_error.get("column"),
        )
    raise PolicyEvaluationError(f"{what}: {answer.get('error', answer)}")


def _exit(code: int | None) -> str:
    if code is None:
        return "exit code unknown"
    if code < 0:
        return f"killed by signal {-code}"
    return f"exit code {code}"
