"""The console's session and its guards, over HTTP without a browser: a revoked token or
an expired session signs the person out at once; demo sign-in turned off ends demo
sessions; ``next`` never leads off the site; the session cookie is no API credential;
every console page carries the strict policy; htmx is served from the package (the
vendored copy, as fetched from npm), never from elsewhere."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from services.api import create_app
from services.bootstrap import Platform
from services.console.routes import ROUTERS as CONSOLE_ROUTERS

STATIC = resources.files("services.console").joinpath("static")
TEMPLATES = Path(str(resources.files("services.console").joinpath("templates")))


@pytest.fixture
def browser(platform: Platform) -> Iterator[TestClient]:
    """A client that keeps cookies, as a browser does (base URL on the console's host),
    on the end-to-end platform (``conftest.py``) with demo sign-in on."""
    platform.settings.demo_sign_in = True
    with TestClient(create_app(platform), base_url="http://127.0.0.1") as client:
        yield client


def _csrf(client: TestClient) -> str:
    page = client.get("/console/sign-in").text
    found = re.search(r'name="csrftoken" value="([^"]+)"', page)
    assert found, "the sign-in form carries a CSRF token"
    return found.group(1)


def _signed_in(client: TestClient, path: str = "/console/me") -> bool:
    answer = client.get(path, follow_redirects=False)
    return answer.status_code != 303


def _sign_in_with(client: TestClient, token: str, next_path: str = "/console") -> str:
    answer = client.post(
        "/console/sign-in",
        data={"csrftoken": _csrf(client), "token": token, "next": next_path},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


def test_a_revoked_token_ends_its_console_session_at_once(
    platform: Platform, browser: TestClient
) -> None:
    issued = platform.tokens.issue("tom", ["member"], issued_by="sam")
    _sign_in_with(browser, issued.text)
    assert _signed_in(browser)
    platform.tokens.revoke(issued.record.token_id, "left the firm", revoked_by="sam")
    time.sleep(platform.settings.token_refresh_seconds + 0.2)  # every process's refresh
    answer = browser.get("/console/me", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/sign-in?next=/console/me")
    assert "okrgov_session" not in browser.cookies or not _signed_in(browser)


def test_an_expired_session_and_demo_sign_in_turned_off_end_sessions(
    platform: Platform, browser: TestClient
) -> None:
    browser.post("/console/sign-in/demo", data={"csrftoken": _csrf(browser), "user": "priya"})
    assert _signed_in(browser)
    platform.settings.demo_sign_in = False
    assert not _signed_in(browser)
    platform.settings.demo_sign_in = True
    browser.post("/console/sign-in/demo", data={"csrftoken": _csrf(browser), "user": "priya"})
    assert _signed_in(browser)
    platform.settings.console_session_hours = 1 / 3600 / 10  # a tenth of a second
    time.sleep(0.2)
    assert not _signed_in(browser)


@pytest.mark.parametrize(
    "next_path",
    ["https://evil.example/", "//evil.example/console", "/v1/cycles", "javascript:alert(1)"],
)
def test_sign_in_never_leads_off_the_console(
    platform: Platform, browser: TestClient, next_path: str
) -> None:
    token = platform.tokens.issue("priya", ["executive"], issued_by="sam").text
    assert _sign_in_with(browser, token, next_path) == "/console"


def test_the_session_cookie_is_no_api_credential(platform: Platform, browser: TestClient) -> None:
    token = platform.tokens.issue("priya", ["executive"], issued_by="sam").text
    _sign_in_with(browser, token)
    assert "okrgov_session" in browser.cookies
    assert browser.get("/v1/cycles").status_code == 401


def test_console_pages_carry_the_strict_policy_and_are_never_cached(browser: TestClient) -> None:
    answer = browser.get("/console/sign-in")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "<script>" not in answer.text and "style=" not in answer.text


def test_htmx_is_the_vendored_copy_served_from_the_package(browser: TestClient) -> None:
    vendored = json.loads(STATIC.joinpath("VENDORED.json").read_text())["htmx.min.js"]
    served = browser.get("/console/static/htmx.min.js")
    assert served.status_code == 200
    assert hashlib.sha256(served.content).hexdigest() == vendored["sha256"]
    assert vendored["version"].startswith("2.0.")
    assert f'version:"{vendored["version"]}"' in served.text
    page = browser.get("/console/sign-in").text
    assert re.search(r'<script src="/console/static/htmx\.min\.js\?v=[0-9a-f]{12}" defer>', page)


def test_no_template_loads_anything_from_another_site() -> None:
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), template.name
        assert "<script>" not in text and "style=" not in text, template.name


#: Console pages anyone may open without signing in.
OPEN = {"/console/sign-in", "/console/sign-in/demo", "/console/sign-out"}


def test_every_console_page_asks_who_you_are_first(browser: TestClient) -> None:
    """A hostile caller without a session: every console route (any path parameters)
    sends them to sign in and runs nothing, and a form posted without a session's CSRF
    token is refused before the route runs."""
    routes = [
        route
        for router in CONSOLE_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.path not in OPEN
    ]
    assert len(routes) > 20  # every section's pages and forms
    some_id = "00000000-0000-4000-8000-000000000000"
    for route in routes:
        path = re.sub(r"\{[^}]+\}", some_id, route.path)
        for method in route.methods or ():
            answer = browser.request(method, path, follow_redirects=False)
            if method == "GET":
                assert answer.status_code == 303, (method, route.path, answer.status_code)
                assert answer.headers["location"].startswith("/console/sign-in"), route.path
            else:
                assert answer.status_code in (303, 403), (method, route.path, answer.status_code)
