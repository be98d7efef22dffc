"""The README runs: its shell blocks, in order, in one bash with ``set -euo pipefail``, in a
directory that holds only ``.venv`` (as a clone would; nothing may be written beside it),
against a fresh ``okrgov serve --demo-if-empty`` on a free port (``OKRGOV`` points the
blocks at it; ``OKRGOV_DATA_DIR`` gives the server and the blocks' command line one store).

A block that cannot run here is marked by an HTML comment on the line before its fence:
``<!-- readme-test: skip, WHY -->`` (a reason is required), or ``<!-- readme-test: server,
... -->`` for the ``make run`` the test's own server stands in for. A shell block neither run
nor marked fails the test, so the README cannot grow a block nobody runs.

The README's ``api`` helper prints ``HTTP <status>`` on stderr for each answer. A call the
README says is refused names its status in the comment right above it (``HTTP 409``);
every other call must answer 2xx. Each block's statuses are checked against that."""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
SHELLS = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^```(\S*)\s*$")
MARKER = re.compile(r"^<!--\s*readme-test:\s*(?P<kind>[\w-]+)\s*(?:,\s*(?P<why>.*?))?\s*-->$")
#: A call of the README's helper: ``api "$TOKEN" ...`` at a command's start or in ``$(...)``.
API_CALL = re.compile(r"(?:^|[\s($|;&])api\s+\"\$")
STATUS_SAID = re.compile(r"\bHTTP (\d{3})\b")
STATUS_SHOWN = re.compile(r"^HTTP (\d{3})$")
BLOCK_START = re.compile(r"^readme-test: block (\d+)$")
START_SECONDS = 180


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    marker: str | None  # "skip", "server" or None (run)
    why: str | None


def shell_blocks(markdown: str) -> list[Block]:
    """Every fenced block of a shell language, with the marker on the line before it."""
    lines = markdown.splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = next(j for j in range(index + 1, len(lines)) if lines[j].startswith("```"))
        language = opening.group(1).lower()
        if language in SHELLS:
            before = lines[index - 1].strip() if index else ""
            marker = MARKER.match(before)
            found.append(
                Block(
                    line=index + 1,
                    language=language,
                    text="\n".join(lines[index + 1 : end]),
                    marker=marker.group("kind") if marker else None,
                    why=marker.group("why") if marker else None,
                )
            )
        index = end + 1
    return found


def expected_statuses(script: str) -> list[str]:
    """One entry per ``api`` call in ``script``: the status the comment right above it
    names (``HTTP 409``), else ``2xx``."""
    expected: list[str] = []
    said: str | None = None
    for raw in script.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            found = STATUS_SAID.search(line)
            said = said or (found.group(1) if found else None)
            continue
        for _ in API_CALL.finditer(line):
            expected.append(said or "2xx")
            said = None
        if line:
            said = None
    return expected


def shown_statuses(stderr: str) -> dict[int, list[str]]:
    """The ``HTTP <status>`` lines on stderr, by the block that printed them."""
    shown: dict[int, list[str]] = {}
    block = -1
    for line in stderr.splitlines():
        if start := BLOCK_START.match(line):
            block = int(start.group(1))
            shown[block] = []
        elif status := STATUS_SHOWN.match(line.strip()):
            shown.setdefault(block, []).append(status.group(1))
    return shown


def agrees(expected: str, shown: str) -> bool:
    return shown.startswith("2") if expected == "2xx" else shown == expected


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def needs_tools() -> None:
    """The walk-through's tools (make test installs curl and jq when absent): without them
    the test skips locally and fails in CI."""
    missing = [tool for tool in ("bash", "curl", "jq", "sha256sum") if not shutil.which(tool)]
    if missing and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"the README test needs {', '.join(missing)}")
    if missing:
        pytest.skip(f"the README test needs {', '.join(missing)}")


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A working directory like a clone's for the blocks: only ``.venv``, this one."""
    needs_tools()
    where = tmp_path / "clone"
    where.mkdir()
    (where / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return where


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKRGOV_")}
    env.update(
        OKRGOV_DATA_DIR=str(tmp_path / "var"),
        OKRGOV_LOG_LEVEL="WARNING",
        NO_COLOR="1",
        TMPDIR=str(tmp_path / "scratch"),
    )
    (tmp_path / "scratch").mkdir()
    return env


@pytest.fixture
def server(clone: Path, environment: dict[str, str]) -> Iterator[str]:
    """``okrgov serve --demo-if-empty`` on a fresh store, as ``make run`` starts it; yields
    its URL once it printed its ready line."""
    port = free_port()
    process = subprocess.Popen(
        [".venv/bin/okrgov", "serve", "--port", str(port), "--demo-if-empty"],
        cwd=clone,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(x) for x in stdout], daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_SECONDS
    try:
        printed = []  # the demo's summary, then the ready line
        while not printed or not printed[-1].startswith("okrgov serves"):
            try:
                printed.append(lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                process.kill()
                pytest.fail(f"no ready line: {printed} {process.communicate()[1][-3000:]}")
        ready = printed[-1]
        assert ready.startswith(f"okrgov serves {base}"), ready
        assert f"{base}/docs" in ready and f"{base}/redoc" in ready
        assert ".venv/bin/okrgov token create" in ready
        yield base
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_every_shell_block_is_run_or_marked_with_a_reason() -> None:
    blocks = shell_blocks(README.read_text())
    assert [b for b in blocks if b.marker is None], "the README has no block to run"
    for block in blocks:
        where = f"README.md line {block.line}"
        assert block.marker in (None, "skip", "server"), f"{where}: unknown {block.marker!r}"
        if block.marker == "skip":
            assert block.why, f"{where}: say why the block is skipped"
        if block.marker == "server":
            assert "make run" in block.text, f"{where}: the server block is make run"


@pytest.mark.timeout(900)
def test_the_readme_runs(
    server: str, clone: Path, environment: dict[str, str], tmp_path: Path
) -> None:
    run = [b for b in shell_blocks(README.read_text()) if b.marker is None]
    script = ["set -euo pipefail"]
    for index, block in enumerate(run):
        script += [f"echo 'readme-test: block {index}' >&2", block.text]
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=clone,
        env={**environment, "OKRGOV": server},
        capture_output=True,
        text=True,
        timeout=800,
        stdin=subprocess.DEVNULL,
    )
    shown = shown_statuses(done.stderr)
    last = max(shown, default=0)
    context = (
        f"in the block at README.md line {run[last].line}\n"
        f"--- stdout (end)\n{done.stdout[-4000:]}\n--- stderr (end)\n{done.stderr[-4000:]}"
    )
    assert done.returncode == 0, f"exit {done.returncode} {context}"
    assert last == len(run) - 1, context
    for index, block in enumerate(run):
        expected = expected_statuses(block.text)
        got = shown.get(index, [])
        assert len(got) == len(expected) and all(map(agrees, expected, got)), (
            f"README.md line {block.line}: statuses {got}, the README says {expected}\n{context}"
        )
    # Nothing was written into the clone: the examples write into their scratch directory.
    assert sorted(p.name for p in clone.iterdir()) == [".venv"]


def test_the_status_expectations_are_read_from_the_comment_above() -> None:
    script = """\
X=$(api "$A" POST /v1/cycles -d '{"name": "a",
  "ends_on": "b"}' | jq -r .id)
# Refused: HTTP 422 naming the field (an executive would get HTTP 409).
api "$A" POST /v1/x
api "$B" GET /v1/y | jq .
# a comment without a status
api "$B" GET /v1/z
"""
    assert expected_statuses(script) == ["2xx", "422", "2xx", "2xx"]
    shown = shown_statuses("readme-test: block 0\nnoise\nHTTP 201\nreadme-test: block 1\nHTTP 422")
    assert shown == {0: ["201"], 1: ["422"]}
    assert agrees("2xx", "204") and not agrees("2xx", "409") and not agrees("422", "409")
