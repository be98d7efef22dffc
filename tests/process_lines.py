"""Reading a running process's output a line at a time, with a deadline."""

import selectors
import signal
import subprocess
import time


def read_lines_until(run: subprocess.Popen[str], start: str, timeout: float) -> list[str]:
    """The process's stderr lines up to the first starting with ``start``."""
    assert run.stderr is not None
    chosen = selectors.DefaultSelector()
    chosen.register(run.stderr, selectors.EVENT_READ)
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if chosen.select(timeout=0.5):
            line = run.stderr.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith(start):
                return lines
    raise AssertionError(f"no line starting {start!r} in {timeout} s: {lines}")


def last_line_when_stopped(run: subprocess.Popen[str], timeout: float = 60) -> str:
    """Stop the process as an operator would (SIGTERM) and the last line it said on stderr,
    once it has exited 0."""
    run.send_signal(signal.SIGTERM)
    rest = run.communicate(timeout=timeout)[1]
    assert run.returncode == 0, rest
    return str(rest).strip().splitlines()[-1]
