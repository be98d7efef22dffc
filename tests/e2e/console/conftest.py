"""Fixtures of the console's browser tests: one served store with the demo per test module
(``site``), one Chromium per session, and a fresh signed-out page per test (``console``)
that leaves a screenshot under ``test-results/console/`` when its test fails."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from browser import chromium, offline_page
from console_pages import SCREENSHOTS, ConsolePage, ConsoleSite, console_site


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/console/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def site() -> Iterator[ConsoleSite]:
    with console_site() as served:
        yield served


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    """Per module: Playwright's sync API keeps an event loop running while it is open,
    which would break the tests after these that run one of their own (asyncio.run)."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def console(
    request: pytest.FixtureRequest, site: ConsoleSite, chromium_browser: Any
) -> Iterator[ConsolePage]:
    with offline_page(chromium_browser, site.base) as offline:
        found = ConsolePage(site, offline)
        offline.page.on(
            "console", lambda m: found.console_errors.append(m.text) if m.type == "error" else None
        )
        offline.page.set_default_timeout(15_000)
        yield found
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-120:]
            shot = SCREENSHOTS / f"{name}.png"
            offline.page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failing page: {shot}")
