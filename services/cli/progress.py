"""Progress for the long commands (``verify``, ``projections rebuild``, ``audit export``):
bars on stderr while a person watches it in a terminal, and nothing at all when stderr is
a pipe, a file or a test's capture (the command's summary line says what was done).

Each command still ends with its one-line summary, terminal or not; the bars are drawn
on stderr and cleared when done, so stdout (an export, a proof) stays clean."""

import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

Advance = Callable[[str, int], None]
"""Told, per task (a view's name, say), how far it has got (a position, or a count)."""


def on_terminal() -> bool:
    """Whether a person sees stderr: bars are drawn only then."""
    return sys.stderr.isatty()


@contextmanager
def bars(description: str, total: int | None, unit: str = "") -> Iterator[Advance]:
    """A bar per task, each of ``total`` (None: a count with no end known), on a terminal;
    elsewhere ``advance`` does nothing."""
    if not on_terminal():
        yield lambda _task, _done: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
    ]
    tasks: dict[str, TaskID] = {}
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:

        def advance(task: str, done: int) -> None:
            if task not in tasks:
                label = f"{description} {task}".strip()
                tasks[task] = progress.add_task(label, total=total)
            progress.update(tasks[task], completed=done)

        yield advance


def counted(items: Iterable[T], advance: Advance, every: int = 100) -> "Counted[T]":
    """``items`` passed through, counted (``.count``), with ``advance("", n)`` every
    ``every`` items and at the end."""
    return Counted(items, advance, every)


class Counted(Iterable[T]):
    def __init__(self, items: Iterable[T], advance: Advance, every: int) -> None:
        self.items = items
        self.advance = advance
        self.every = every
        self.count = 0

    def __iter__(self) -> Iterator[T]:
        for item in self.items:
            self.count += 1
            if self.count % self.every == 0:
                self.advance("", self.count)
            yield item
        self.advance("", self.count)


class Every:
    """Says ``line()`` on stderr every ``seconds`` while a long-running command works (when
    it changed since last said), and once more when the command stops: a worker reports
    what it did as it goes, not only at the end. ``seconds`` 0: only at the end."""

    def __init__(self, seconds: float, line: Callable[[], str]) -> None:
        self.seconds = seconds
        self.line = line
        self.said: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Every":
        if self.seconds > 0:
            self._thread = threading.Thread(target=self._run, name="cli-summary", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            self._say(changed_only=True)

    def _say(self, changed_only: bool) -> None:
        try:
            text = self.line()
        except Exception as exc:  # the database away, say: the worker itself deals with it
            text = f"(could not read what was done: {exc!r:.200})"
        if not changed_only or text != self.said:
            self.said = text
            print(text, file=sys.stderr, flush=True)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._say(changed_only=False)
