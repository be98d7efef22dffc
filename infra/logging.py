"""Log lines on stderr, each carrying the correlation id of its request or command: readable
lines on a terminal, JSON lines otherwise (``OKRGOV_LOG_FORMAT``: ``auto``, ``console`` or
``json``). Our structlog lines and the libraries' stdlib lines are rendered alike.

Libraries log at WARNING and above (kafka, eventsourcing, httpx, ...): their INFO lines
(connections, metadata refreshes, every HTTP request) say nothing an operator of okrgov
acts on. ``quieted`` raises the level of our own lines for a block, so a bulk load (the
demo) is summarised by its caller instead of logged command by command."""

import logging
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LogFormat = Literal["auto", "console", "json"]

#: Library loggers and the least level they log at (whatever OKRGOV_LOG_LEVEL says).
LIBRARY_LEVELS = {
    "kafka": logging.WARNING,
    "eventsourcing": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "urllib3": logging.WARNING,
    "asyncio": logging.WARNING,
    "uvicorn.access": logging.WARNING,
    "multipart": logging.WARNING,
}

_LEVELS = logging.getLevelNamesMapping()

#: The least level of our own lines in this context (``quieted``); 0: the configured one.
_quiet_below: ContextVar[int] = ContextVar("okrgov_quiet_below", default=0)


def _drop_quieted(_: WrappedLogger, method: str, event: EventDict) -> EventDict:
    floor = _quiet_below.get()
    if floor and _LEVELS.get(method.upper(), logging.INFO) < floor:
        raise structlog.DropEvent
    return event


def _on_terminal(stream: TextIO) -> bool:
    """Whether a person reads ``stream`` (a terminal, not a pipe, a file or a capture)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def renders_as(fmt: LogFormat, stream: TextIO) -> Literal["console", "json"]:
    """``auto``: readable lines on a terminal, JSON lines when the stream is a pipe or file."""
    if fmt != "auto":
        return fmt
    return "console" if _on_terminal(stream) else "json"


def _colours(stream: TextIO) -> bool:
    """Colours on a terminal, unless NO_COLOR is set (https://no-color.org)."""
    return _on_terminal(stream) and not os.environ.get("NO_COLOR")


def configure_logging(level: str = "INFO", fmt: LogFormat = "auto") -> None:
    """Our loggers and the libraries' stdlib loggers alike, on stderr, as ``fmt`` says."""
    stream = sys.stderr
    console = renders_as(fmt, stream) == "console"
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=_colours(stream), sort_keys=False)
        if console
        else structlog.processors.JSONRenderer()
    )
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S" if console else "iso", utc=True),
    ]
    # The console renderer prints tracebacks itself; JSON carries them as a string.
    exceptions: list[Processor] = [] if console else [structlog.processors.format_exc_info]
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *exceptions,
                renderer,
            ],
        )
    )
    threshold = _LEVELS[level.upper()]
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(threshold)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for name, least in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(max(least, threshold))
    structlog.configure(
        processors=[_drop_quieted, *shared, *exceptions, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


@contextmanager
def quieted(level: int = logging.WARNING) -> Iterator[None]:
    """Inside the block (this thread or task), our own lines below ``level`` are dropped:
    a bulk load's caller summarises it instead of logging each command."""
    token = _quiet_below.set(level)
    try:
        yield
    finally:
        _quiet_below.reset(token)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return str(value) if value else None


@contextmanager
def correlated(correlation_id: str | None = None, **context: object) -> Iterator[str]:
    """Bind a correlation id (new unless given) to every log line inside the block."""
    cid = correlation_id or new_correlation_id()
    with structlog.contextvars.bound_contextvars(correlation_id=cid, **context):
        yield cid
