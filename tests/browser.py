"""A real Chromium with no way out: the system's browser (Debian's ``chromium``, which
``make test`` installs when absent), driven by Playwright for Python, never a browser
Playwright downloads. Every request a page makes to a host other than the server under
test is refused and remembered, so a test asserts both that the page rendered and that it
asked nothing of the internet.

    with chromium() as browser, offline_page(browser, base_url) as page:
        page.goto(f"{base_url}/docs")
        ...
    assert page.outside == []

Without Chromium (or Playwright) a test skips locally and fails in CI (``CI=true``), so CI
cannot pass without having looked."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

#: The system Chromium; OKRGOV_TEST_CHROMIUM names another binary.
CHROMIUM = os.environ.get("OKRGOV_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}: CI must run the browser tests (make test installs chromium)")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Browser]:
    """The system Chromium, headless, launched by Playwright."""
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (the test extra)")
        raise
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class OfflinePage:
    """A page of its own browser context, and what it tried to reach outside the server."""

    page: Page
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextmanager
def offline_page(browser: Browser, base_url: str) -> Iterator[OfflinePage]:
    """A new page that may reach ``base_url``'s origin only: any other http(s) or ws(s)
    request is aborted and listed in ``outside``; uncaught script errors are in
    ``errors``."""
    origin = urlsplit(base_url)[:2]
    context = browser.new_context(service_workers="block")
    page = context.new_page()
    found = OfflinePage(page)

    def route(r: Route) -> None:
        parts = urlsplit(r.request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts[:2] != origin:
            found.outside.append(r.request.url)
            r.abort("blockedbyclient")
        else:
            r.continue_()

    context.route("**/*", route)
    context.on("weberror", lambda e: found.errors.append(str(e.error)))
    page.on("websocket", lambda ws: found.outside.append(ws.url))
    try:
        yield found
    finally:
        context.close()
