"""A small HTTP endpoint for a process without an API (the relay, a projection worker):
``/metrics`` in the Prometheus text format, ``/healthz`` as JSON.

The figures come from the process's own collectors (``prometheus_client`` custom
collectors reading what the process last measured), in a registry of its own rather
than the library's global one. ``/healthz`` answers 200 while the process is up (its
``status`` says ``ok`` or ``degraded``) and 503 when it cannot tell (its ``error``)."""

import json
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

log = structlog.get_logger(__name__)

Health = Callable[[], dict[str, Any]]


class Figures(Collector):
    """A collector whose metrics are whatever ``families`` yields at scrape time."""

    def __init__(self, families: Callable[[], Iterable[Metric]]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families()


def registry_of(families: Callable[[], Iterable[Metric]]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Figures(families))
    return registry


class MetricsPortUnavailable(RuntimeError):
    """The metrics address cannot be bound (in use, or not this host's)."""


class MetricsServer:
    """``/metrics`` and ``/healthz`` on ``host:port``, served from a daemon thread."""

    def __init__(self, registry: CollectorRegistry, health: Health, host: str, port: int):
        handler = _handler(registry, health)
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise MetricsPortUnavailable(
                f"cannot serve metrics on {host}:{port}: {exc.strerror or exc} "
                "(choose another OKRGOV_METRICS_PORT or --metrics-port, or 0 for none)"
            ) from None
        self._server.daemon_threads = True
        address = self._server.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-http", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "MetricsServer":
        self._thread.start()
        log.info("metrics.serving", url=self.url)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler(registry: CollectorRegistry, health: Health) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, CONTENT_TYPE_LATEST, generate_latest(registry))
            elif path == "/healthz":
                try:
                    body, status = health(), 200
                except Exception as exc:  # the store unreachable, say: report, stay up
                    log.warning("metrics.health_failed", error=repr(exc)[:300])
                    body, status = {"status": "failing", "error": repr(exc)[:300]}, 503
                data = json.dumps(body, sort_keys=True).encode()
                self._answer(status, "application/json", data)
            else:
                self._answer(404, "text/plain; charset=utf-8", b"not found\n")

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # scrapes every few seconds would drown the process's own log

    return Handler
