"""Encoding the relay's pages (``infra.stream_pages``) in a process of its own, while the
relay's process sends the page before and waits for its acknowledgements.

Why a process: the relay's process is busy with the producer (kafka-python builds and
checksums record batches in Python), so encoding in a thread would only take turns with it
under the interpreter lock; another process encodes on another core. Its records are the
ones ``encode`` makes in the relay's own process, byte for byte: the same function, the
same source and the same key, loaded there from the same configuration and checked by its
key id before the first page.

The process is ``python -m infra.stream_encoder``, spoken to over its standard input and
output (length-prefixed pickles, one request at a time, answered in order); it stops when
its input closes, so it never outlives the relay. One that dies is replaced on the next
page; one that cannot start or load the key gives way to encoding in the relay's process."""

import fcntl
import os
import pickle
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, NoReturn

import structlog

from infra.signing import Signer, load_signer
from infra.stored_events import StoredRow
from infra.stream_pages import EncoderFailed, InlineEncoder, Pending, Records, encode_page

log = structlog.get_logger(__name__)

PIPE_BYTES = 1 << 20
"""The pipes' size, so that a page and its records pass without either side waiting."""
ENCODE_TIMEOUT = 120.0
"""How long a page may take to encode before its process is taken for stuck."""


class _Awaited:
    def __init__(self, encoder: "ProcessEncoder", ticket: int) -> None:
        self.encoder = encoder
        self.ticket = ticket

    def result(self) -> Records:
        records: Records = self.encoder._result(self.ticket)
        return records


class ProcessEncoder:
    """Encodes in one process of its own (``python -m infra.stream_encoder``), started on
    first use and again after it failed."""

    def __init__(
        self, source: str, signer: Signer, configured_key: str | None, data_dir: Path
    ) -> None:
        self.key_id = signer.key_id
        self._load = (source, configured_key, str(data_dir))
        self._in_process = InlineEncoder(source, signer)
        self.apart = True
        """False once a process could not be started: pages are encoded in the relay's."""
        self._process: subprocess.Popen[bytes] | None = None
        self._ticket = 0
        """The number of the last request written: the one page being encoded."""
        self._unread = False
        self._answer: tuple[str, Any] = ("error", EncoderFailed("no answer"))

    @property
    def pid(self) -> int | None:
        """The encoding process's id, while it runs."""
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the process unless it runs. One that cannot start, or would not sign with
        the relay's key, is not tried again: the pages are encoded in the relay's process
        (a warning says so), never left unsent."""
        if self._process is not None or not self.apart:
            return
        try:
            self._spawn()
        except (OSError, EncoderFailed) as exc:
            self.close()
            self.apart = False
            log.warning("relay.encoder_in_process", why=repr(exc)[:300])

    def _spawn(self) -> None:
        package_root = str(Path(__file__).resolve().parents[1])  # where ``infra`` is
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
        self._process = process = subprocess.Popen(
            [sys.executable, "-m", "infra.stream_encoder"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            env={**os.environ, "PYTHONPATH": path},
            start_new_session=True,  # a terminal's Ctrl-C is for the relay, which stops it
        )
        for pipe in (process.stdin, process.stdout):
            with suppress(OSError):  # Linux: a page (~0.5 MB) in either pipe without waiting
                fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[union-attr]
        self._unread = False
        try:
            key_id: str | None = self._result(self._request("load", self._load))
        except Exception as exc:
            raise EncoderFailed(f"the encoding process did not load the key: {exc!r}") from exc
        if key_id != self.key_id:
            raise EncoderFailed(f"the encoding process signs with {key_id}, not {self.key_id}")

    def submit(self, rows: Sequence[StoredRow], page_bytes: int, partitions: int) -> Pending:
        self.start()
        if not self.apart:
            return self._in_process.submit(rows, page_bytes, partitions)
        page = ([tuple(row) for row in rows], page_bytes, partitions)
        return _Awaited(self, self._request("encode", page))

    def _request(self, kind: str, payload: Any) -> int:
        """Write a request; one at a time: the answer to the one before, if not taken (a
        page read ahead of a position another relay moved), is read and dropped first, as
        the process writes a whole answer before it reads again."""
        if self._unread:
            self._read_answer()
        try:
            _write(self._pipe().stdin, pickle.dumps((kind, payload), pickle.HIGHEST_PROTOCOL))
        except OSError as exc:
            self._failed(f"write: {exc!r}")
        self._ticket += 1
        self._unread = True
        return self._ticket

    def _result(self, ticket: int) -> Any:
        if ticket != self._ticket:
            raise EncoderFailed("another page was given to the encoding process since")
        if self._unread:
            self._read_answer()
        status, value = self._answer
        if status == "error":
            raise value
        return value

    def _read_answer(self) -> None:
        stdout = self._pipe().stdout
        assert stdout is not None
        deadline = time.monotonic() + ENCODE_TIMEOUT
        try:
            header = _read(stdout, 4, deadline)
            self._answer = pickle.loads(_read(stdout, int.from_bytes(header, "big"), deadline))
        except (OSError, EOFError, TimeoutError) as exc:
            self._failed(f"read: {exc!r}")
        self._unread = False

    def _pipe(self) -> "subprocess.Popen[bytes]":
        if self._process is None:
            raise EncoderFailed("the encoding process is not running")
        return self._process

    def _failed(self, why: str) -> NoReturn:
        log.warning("relay.encoder_failed", why=why)
        self.close()
        raise EncoderFailed(
            f"the encoding process failed ({why}); it starts again on the next page"
        )

    def close(self) -> None:
        process, self._process = self._process, None
        self._unread = False
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()  # its signal to stop
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait(timeout=5)
        finally:
            if process.stdout is not None:
                process.stdout.close()


def _write(pipe: Any, data: bytes) -> None:
    view = memoryview(len(data).to_bytes(4, "big") + data)
    while view:
        view = view[os.write(pipe.fileno(), view) :]


def _read(pipe: Any, size: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    while size:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([pipe], [], [], remaining)[0]:
            raise TimeoutError("no answer in time")
        chunk = os.read(pipe.fileno(), min(size, 1 << 20))
        if not chunk:
            raise EOFError("the encoding process exited")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


# ---- the encoding process ----------------------------------------------------------------


def serve(requests: Any, answers: Any) -> None:
    """Answer requests until the input closes: ``load`` (source, key, data dir) with the
    key id, ``encode`` (rows, page bytes) with the page's records; an error as itself."""
    source = ""
    signer: Signer | None = None
    while True:
        header = requests.read(4)
        if len(header) < 4:
            return
        kind, payload = pickle.loads(requests.read(int.from_bytes(header, "big")))
        try:
            if kind == "load":
                source, configured_key, data_dir = payload
                signer = load_signer(configured_key, Path(data_dir))
                value: Any = signer.key_id if signer is not None else None
            else:
                rows, page_bytes, partitions = payload
                assert signer is not None, "no key loaded"
                rows = [StoredRow(*row) for row in rows]
                value = encode_page(rows, source, signer, page_bytes, partitions)
            answer = ("ok", value)
        except Exception as exc:
            answer = ("error", exc)
        data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        answers.write(len(data).to_bytes(4, "big") + data)
        answers.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
