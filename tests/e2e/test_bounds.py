"""Bounds everywhere: every integer parameter carries its bounds in the OpenAPI and answers
422 naming the field beyond them (never a 500, never a 200 that is then cut); a streamed
export checks everything before it starts, and one that fails part way is cut so that the
client sees an incomplete transfer, on a real uvicorn server."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import structlog
from e2e_support import MARCUS, PRIYA, position
from fastapi import FastAPI
from fastapi.testclient import TestClient
from live_server import live_server
from typer.testing import CliRunner

from infra.persistence import MAX_POSITION
from projections.audit import EXPORTS
from projections.entries import EntryView
from services.api.routes import audit as audit_route
from services.bootstrap import Platform
from services.cli.main import app as cli

AuthHeaders = Callable[..., dict[str, str]]
BEYOND = str(MAX_POSITION + 1)
MIN_POSITION = "X-Okrgov-Min-Position"


def _integer(schema: dict[str, Any]) -> dict[str, Any] | None:
    if schema.get("type") == "integer":
        return schema
    for option in schema.get("anyOf", []):
        if option.get("type") == "integer":
            return dict(option)
    return None


def test_every_integer_parameter_has_bounds_in_the_openapi(app: FastAPI) -> None:
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                integer = _integer(parameter["schema"])
                if integer is None:
                    continue
                found.append((method, path, parameter["name"]))
                assert "minimum" in integer and "maximum" in integer, (method, path, parameter)
                assert integer["maximum"] <= MAX_POSITION, (method, path, parameter)
                if parameter["name"] == MIN_POSITION:
                    # A non-negative integer, never null: what a generated client may send.
                    assert parameter["schema"]["type"] == "integer"
                    assert "anyOf" not in parameter["schema"]
                    assert (integer["minimum"], integer["maximum"]) == (0, MAX_POSITION)
    names = {name for _, _, name in found}
    assert {"cursor", "limit", "position", MIN_POSITION} <= names


@pytest.mark.parametrize("export", ["json", "csv", "jsonl"])
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": BEYOND}, "cursor"),
        ({"cursor": str(2**70)}, "cursor"),
        ({"limit": BEYOND}, "limit"),
        ({"since": "0001-01-01T00:00:00+14:00"}, "since"),
        ({"until": "9999-12-31T23:59:59-14:00"}, "until"),
    ],
)
def test_the_audit_trail_refuses_out_of_range_numbers_before_any_stream(
    client: TestClient, auth: AuthHeaders, params: dict[str, str], field: str, export: str
) -> None:
    answer = client.get("/v1/audit", params={**params, "format": export}, headers=auth(*MARCUS))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert [d["field"] for d in answer.json()["error"]["details"]] == [field]


@pytest.mark.parametrize("field", ["actor", "type"])
def test_a_nul_in_a_filter_is_422_not_a_database_error(
    client: TestClient, auth: AuthHeaders, field: str
) -> None:
    answer = client.get("/v1/audit", params={field: "tom\x00"}, headers=auth(*MARCUS))
    assert answer.status_code == 422, answer.text
    assert [d["field"] for d in answer.json()["error"]["details"]] == [field]


def test_the_largest_cursor_is_an_empty_page_and_a_complete_empty_export(
    client: TestClient, auth: AuthHeaders, world: dict[str, str]
) -> None:
    page = client.get("/v1/audit", params={"cursor": str(MAX_POSITION)}, headers=auth(*MARCUS))
    assert page.status_code == 200, page.text
    assert page.json() == {"items": [], "next_cursor": None}
    export = client.get(
        "/v1/audit", params={"cursor": str(MAX_POSITION), "format": "csv"}, headers=auth(*MARCUS)
    )
    assert export.status_code == 200
    assert export.text.count("\r\n") == 1  # the header alone


@pytest.mark.parametrize("route", ["snapshot", "snapshot/export"])
@pytest.mark.parametrize("as_of", [BEYOND, "9" * 19, "9" * 20, str(2**70), "0"])
def test_snapshot_positions_beyond_the_store_are_422_naming_as_of(
    client: TestClient, auth: AuthHeaders, world: dict[str, str], route: str, as_of: str
) -> None:
    answer = client.get(
        f"/v1/cycles/{world['cycle']}/{route}",
        params={"as_of": as_of, "format": "csv"} if route.endswith("export") else {"as_of": as_of},
        headers=auth(*PRIYA),
    )
    assert answer.status_code == 422, answer.text
    assert [d["field"] for d in answer.json()["error"]["details"]] == ["as_of"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (f"/v1/integrity/proof/{BEYOND}", {}, "position"),
        ("/v1/integrity/proof/0", {}, "position"),
        ("/v1/decisions", {"limit": BEYOND}, "limit"),
    ],
)
def test_other_integers_beyond_their_bounds_are_422(
    client: TestClient, auth: AuthHeaders, path: str, params: dict[str, str], field: str
) -> None:
    answer = client.get(path, params=params, headers=auth(*MARCUS))
    assert answer.status_code == 422, answer.text
    assert [d["field"] for d in answer.json()["error"]["details"]] == [field]


@pytest.mark.parametrize("sent", [BEYOND, str(2**70), "-1", "", "1.5", "one"])
def test_a_min_position_that_is_not_a_position_is_422_naming_the_header(
    client: TestClient, auth: AuthHeaders, sent: str
) -> None:
    answer = client.get("/v1/cycles", headers={**auth(*PRIYA), MIN_POSITION: sent})
    assert answer.status_code == 422, answer.text
    assert [d["field"] for d in answer.json()["error"]["details"]] == [MIN_POSITION]


def test_a_min_position_of_zero_or_none_waits_only_for_the_callers_own_writes(
    client: TestClient, auth: AuthHeaders, world: dict[str, str]
) -> None:
    for headers in ({MIN_POSITION: "0"}, {}):
        answer = client.get("/v1/cycles", headers={**auth(*PRIYA), **headers})
        assert answer.status_code == 200, answer.text
        assert [c["id"] for c in answer.json()["items"]] == [world["cycle"]]


def test_the_cli_refuses_a_moment_outside_the_calendar(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKRGOV_DATA_DIR", str(platform.settings.data_dir))
    monkeypatch.setenv("OKRGOV_SECRET_KEY", "test-secret-of-enough-length-for-hs256")
    args = ["audit", "export", "--format", "csv", "--since", "0001-01-01T00:00:00+14:00"]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2, refused.output
    assert "--since" in refused.output


# ---- streams ---------------------------------------------------------------------------------


@pytest.fixture
def failing_reads(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """``failing_reads(n)``: the entries table answers ``n`` reads of 2 rows, then fails."""
    monkeypatch.setattr(audit_route, "CHUNK", 2)
    entries = EntryView.entries

    def arrange(reads: int) -> None:
        done = [0]

        def failing(view: EntryView, *args: Any, **kwargs: Any) -> Any:
            if done[0] >= reads:
                raise RuntimeError("the database went away")
            done[0] += 1
            return entries(view, *args, **kwargs)

        monkeypatch.setattr(EntryView, "entries", failing)

    return arrange


@pytest.fixture
def log_lines(platform: Platform) -> Iterator[io.StringIO]:
    """What the server logs while the test runs (JSON lines)."""
    buffer = io.StringIO()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=buffer))
    try:
        yield buffer
    finally:
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))


def _raw_get(url: str, headers: dict[str, str]) -> bytes:
    """Everything the server sends for one HTTP/1.1 GET, up to the moment it closes."""
    parts = urlsplit(url)
    lines = [f"GET {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in {**headers, "Connection": "close"}.items()]
    received = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while chunk := conn.recv(65536):
            received += chunk
    return received


def test_an_export_that_fails_part_way_is_an_incomplete_transfer(
    app: FastAPI,
    auth: AuthHeaders,
    platform: Platform,
    world: dict[str, str],
    failing_reads: Callable[[int], None],
    log_lines: io.StringIO,
) -> None:
    headers = {**auth(*MARCUS), MIN_POSITION: str(position(platform))}
    with live_server(app) as base:
        url = f"{base}/v1/audit?{urlencode({'format': 'csv'})}"

        # Without a failure the same export ends with the chunked transfer's last chunk.
        failing_reads(10**6)
        whole = _raw_get(url, headers)
        assert whole.startswith(b"HTTP/1.1 200 ") and whole.endswith(b"\r\n0\r\n\r\n")

        failing_reads(2)  # the first read, before the answer starts, and one more
        cut = _raw_get(url, {**headers, "X-Correlation-Id": "export-cut-1"})
        assert cut.startswith(b"HTTP/1.1 200 ")
        assert b"transfer-encoding: chunked" in cut.lower()
        assert b"position,at,actor" in cut  # the header and the first rows went out...
        assert not cut.endswith(b"\r\n0\r\n\r\n")  # ...and the transfer never ended

        # An HTTP client raises rather than hand back a complete-looking file.
        failing_reads(2)
        received = []
        with httpx.Client(timeout=30) as client, client.stream("GET", url, headers=headers) as r:
            assert r.status_code == 200
            with pytest.raises(httpx.RemoteProtocolError):
                for line in r.iter_lines():
                    received.append(line)
        assert received[0].startswith("position,at,actor")
        assert len(received) == 1 + 4  # the header and two reads of two rows

        if shutil.which("curl"):
            failing_reads(2)
            sent = [x for k, v in headers.items() for x in ("-H", f"{k}: {v}")]
            curl = subprocess.run(
                ["curl", "-sS", "-o", os.devnull, *sent, url], capture_output=True, timeout=60
            )
            assert curl.returncode == 18, curl.stderr  # "transfer closed with outstanding data"

    logged = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    [cut_line] = [
        line
        for line in logged
        if line["event"] == "audit.export_cut" and line.get("correlation_id") == "export-cut-1"
    ]
    assert cut_line["lines_sent"] == 1 + 4 and cut_line["error"] == "RuntimeError"


def test_a_failure_before_the_first_row_is_an_error_answer_not_a_stream(
    client: TestClient,
    auth: AuthHeaders,
    platform: Platform,
    world: dict[str, str],
    failing_reads: Callable[[int], None],
) -> None:
    failing_reads(0)
    headers = {**auth(*MARCUS), MIN_POSITION: str(position(platform))}
    for export in ("csv", "jsonl"):
        answer = client.get("/v1/audit", params={"format": export}, headers=headers)
        assert answer.status_code == 500
        assert answer.json()["error"]["code"] == "internal_error"


def test_a_cli_export_that_fails_part_way_exits_non_zero_and_leaves_no_file(
    platform: Platform,
    world: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OKRGOV_DATA_DIR", str(platform.settings.data_dir))
    monkeypatch.setenv("OKRGOV_SECRET_KEY", "test-secret-of-enough-length-for-hs256")
    monkeypatch.setenv("OKRGOV_LOG_LEVEL", "WARNING")
    exports = tmp_path / "exports"
    exports.mkdir()
    runner, out = CliRunner(), exports / "audit.csv"
    args = ["audit", "export", "--format", "csv", "--output", str(out)]
    whole = runner.invoke(cli, args)
    assert whole.exit_code == 0, whole.output
    assert out.read_bytes().count(b"\r\n") > 2
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    out.unlink()

    def cut(entries: Iterable[Any]) -> Iterator[str]:
        yield "position,at\r\n"
        raise RuntimeError("the database went away")

    monkeypatch.setitem(EXPORTS, "csv", cut)
    failed = runner.invoke(cli, args)
    assert failed.exit_code != 0
    assert isinstance(failed.exception, RuntimeError)
    assert list(exports.iterdir()) == []  # neither the file nor a partial one
