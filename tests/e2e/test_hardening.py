"""Hardening: security headers on every answer (errors, 404s, /healthz, /openapi.json and
the HTML pages included), strict Content-Security-Policies on HTML, documentation pages
served without a CDN, no server banner and no stack trace, and request bodies bounded
before anything reads them (413)."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from e2e_support import MARCUS, PRIYA, position
from fastapi import FastAPI
from fastapi.testclient import TestClient
from live_server import live_server

from services.api import create_app
from services.api.docs import inline_script_hashes
from services.api.security_headers import REPORT_POLICY
from services.bootstrap import Platform

AuthHeaders = Callable[..., dict[str, str]]
CYCLE = {"name": "2027-Q1", "starts_on": "2027-01-04", "ends_on": "2027-03-31"}


def assert_secured(answer: httpx.Response, *, private: bool) -> None:
    headers = answer.headers
    where = f"{answer.request.method} {answer.request.url.path} -> {answer.status_code}"
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "no-referrer", where
    assert "server" not in headers, where
    if private:
        assert headers.get("cache-control") == "no-store", where
    if headers.get("content-type", "").startswith("text/html"):
        policy = _policy(headers["content-security-policy"])
        assert policy["frame-ancestors"] == ["'none'"], where
        assert policy["default-src"] == ["'none'"], where
        assert "'unsafe-inline'" not in policy.get("script-src", []), where
        assert "'unsafe-eval'" not in policy.get("script-src", []), where
        assert headers.get("x-frame-options") == "DENY", where


def _policy(header: str) -> dict[str, list[str]]:
    directives = (d.split() for d in header.split(";") if d.strip())
    return {name: values for name, *values in directives}


@pytest.fixture
def failing_route(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the cycles fails with an error no handler maps."""

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals: /srv/okrgov/var/okrgov.sqlite")

    monkeypatch.setattr(Platform, "wait_for", broken)


def test_every_kind_of_answer_carries_the_security_headers(
    client: TestClient, auth: AuthHeaders, world: dict[str, str]
) -> None:
    priya = auth(*PRIYA)
    public = [
        client.get("/healthz"),
        client.get("/openapi.json"),
        client.get("/docs"),
        client.get("/redoc"),
        client.get("/docs-assets/swagger-ui.css"),
        client.get("/no-such-page"),
    ]
    private = [
        client.get("/v1/cycles"),  # 401
        client.get("/v1/cycles", headers=priya),
        client.get("/v1/cycles/not-an-id", headers=priya),  # 422
        client.get(f"/v1/cycles/{world['objective']}", headers=priya),  # 404
        client.delete("/v1/cycles", headers=priya),  # 405
        client.get("/v1/audit", headers=auth("tom", "member")),  # 403
        client.get(
            f"/v1/cycles/{world['cycle']}/snapshot/export", params={"format": "html"}, headers=priya
        ),
    ]
    assert [a.status_code for a in public] == [200, 200, 200, 200, 200, 404]
    assert [a.status_code for a in private] == [401, 200, 422, 404, 405, 403, 200]
    for answer in public:
        assert_secured(answer, private=False)
    for answer in private:
        assert_secured(answer, private=True)


def test_a_failure_answers_in_the_error_shape_with_headers_and_no_stack_trace(
    app: FastAPI, auth: AuthHeaders, failing_route: None
) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/v1/cycles", headers=auth(*PRIYA))
    assert answer.status_code == 500
    assert answer.json() == {
        "error": {
            "code": "internal_error",
            "message": "the server failed; quote the correlation id",
            "details": [],
        }
    }
    assert "secret internals" not in answer.text and "Traceback" not in answer.text
    assert answer.headers["x-correlation-id"]
    assert_secured(answer, private=True)


def test_the_board_report_may_style_itself_and_nothing_else(
    client: TestClient, auth: AuthHeaders, world: dict[str, str]
) -> None:
    answer = client.get(
        f"/v1/cycles/{world['cycle']}/snapshot/export",
        params={"format": "html"},
        headers=auth(*PRIYA),
    )
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == REPORT_POLICY
    assert _policy(REPORT_POLICY) == {
        "default-src": ["'none'"],
        "style-src": ["'unsafe-inline'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    page = answer.text
    assert "<style>" in page and "<svg" in page  # what the policy allows is what it uses
    assert "<script" not in page and "<img" not in page and "url(" not in page


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_load_only_from_okrgov_and_hash_their_inline_script(
    client: TestClient, page: str
) -> None:
    answer = client.get(page)
    assert answer.status_code == 200
    html = answer.text
    # No CDN: every script, stylesheet and icon is one of okrgov's own assets...
    linked = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert linked and all(link.startswith("/docs-assets/") for link in linked), linked
    for link in linked:
        asset = client.get(link)
        assert asset.status_code == 200 and len(asset.content) > 1000, link
    assert "https://" not in html.split("<body>")[0]
    # ...and the policy allows scripts from here and exactly the inline ones on the page.
    policy = _policy(answer.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'", *inline_script_hashes(html)]
    assert policy["connect-src"] == ["'self'"]


def test_the_openapi_declares_413_wherever_a_body_is_sent(app: FastAPI) -> None:
    operations = [
        (method, path, operation)
        for path, methods in app.openapi()["paths"].items()
        for method, operation in methods.items()
    ]
    with_body = [(m, p, o) for m, p, o in operations if "requestBody" in o or m != "get"]
    assert len(with_body) > 10
    for method, path, operation in with_body:
        assert "413" in operation["responses"], (method, path)


# ---- request bodies ----------------------------------------------------------------------


@pytest.fixture
def small_limit_app(platform: Platform) -> FastAPI:
    platform.settings.max_body_bytes = 1024
    return create_app(platform)


def _chunks(total: int) -> Iterator[bytes]:
    for _ in range(total // 256):
        yield b" " * 256


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    small_limit_app: FastAPI, auth: AuthHeaders, platform: Platform
) -> None:
    priya = {**auth(*PRIYA), "Content-Type": "application/json"}  # (issuing it is recorded)
    padded = '{"name": "2027-Q1", "starts_on": "2027-01-04", "ends_on": "2027-03-31"' + " " * 2000
    before = position(platform)
    with TestClient(small_limit_app) as client:
        declared = client.post("/v1/cycles", content=padded + "}", headers=priya)
        chunked = client.post("/v1/cycles", content=_chunks(4096), headers=priya)
        assert position(platform) == before  # nothing parsed, nothing recorded
        within = client.post("/v1/cycles", json=CYCLE, headers=priya)
    for answer in (declared, chunked):
        assert answer.status_code == 413, answer.text
        error = answer.json()["error"]
        assert error["code"] == "payload_too_large"
        assert [(d["field"], d["rule"]) for d in error["details"]] == [("body", "max_bytes")]
        assert "1024" in error["message"]
        assert answer.headers["x-correlation-id"]
        assert_secured(answer, private=True)
    assert within.status_code == 201, within.text


def test_the_limit_defaults_to_one_mebibyte(client: TestClient, auth: AuthHeaders) -> None:
    priya = {**auth(*PRIYA), "Content-Type": "application/json"}
    at_limit = b'{"x": "' + b"a" * (1024 * 1024 - 10) + b'"}'
    over = b'{"x": "' + b"a" * (1024 * 1024) + b'"}'
    assert len(at_limit) <= 1024 * 1024 < len(over)
    assert client.post("/v1/cycles", content=at_limit, headers=priya).status_code == 422
    assert client.post("/v1/cycles", content=over, headers=priya).status_code == 413


# ---- on a real server ----------------------------------------------------------------------


def _raw(base: str, request: bytes) -> bytes:
    parts = urlsplit(base)
    received = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        conn.sendall(request)
        while chunk := conn.recv(65536):
            received += chunk
    return received


def test_a_real_server_sends_no_banner_and_refuses_large_bodies(
    small_limit_app: FastAPI, auth: AuthHeaders
) -> None:
    with live_server(small_limit_app) as base, httpx.Client(base_url=base, timeout=30) as http:
        for answer in (http.get("/healthz"), http.get("/nope"), http.get("/docs")):
            assert_secured(answer, private=False)
        priya = {**auth(*MARCUS), "Content-Type": "application/json"}
        declared = http.post("/v1/cycles", content=b" " * 4096, headers=priya)
        chunked = http.post("/v1/cycles", content=_chunks(4096), headers=priya)
        for answer in (declared, chunked):
            assert answer.status_code == 413, answer.text
            assert answer.json()["error"]["code"] == "payload_too_large"
            assert_secured(answer, private=True)
        # uvicorn's own answer to a request it cannot parse carries no banner either.
        garbage = _raw(base, b"NOT HTTP AT ALL\r\n\r\n")
        assert garbage.startswith(b"HTTP/1.1 400") and b"server:" not in garbage.lower()
