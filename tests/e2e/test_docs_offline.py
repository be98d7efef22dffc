"""``/docs`` and ``/redoc`` render in a real Chromium that may reach nothing but the server:
Swagger UI lists the operations, ReDoc its menu and the operations' sections, and not
one request leaves for another host (the assets are okrgov's own, no CDN)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser import OfflinePage, chromium, offline_page
from fastapi import FastAPI
from live_server import live_server

#: How long a page may take to render (a cold browser on a busy machine).
RENDER_MS = 30_000


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    with live_server(app) as base:
        yield base


@pytest.fixture
def page(base_url: str) -> Iterator[OfflinePage]:
    with chromium() as browser, offline_page(browser, base_url) as page:
        yield page


def test_swagger_ui_renders_the_operations_offline(base_url: str, page: OfflinePage) -> None:
    answer = page.page.goto(f"{base_url}/docs")
    assert answer is not None and answer.status == 200
    paths = page.page.locator(".opblock-summary-path")
    paths.filter(has_text="/v1/cycles").first.wait_for(timeout=RENDER_MS)
    shown = paths.all_inner_texts()
    assert any(p.startswith("/v1/key-results") for p in shown)
    assert len(shown) > 20  # every operation, not a fragment
    assert page.page.locator(".swagger-ui .info .title").inner_text().startswith("okrgov")
    assert page.outside == [] and page.errors == []


def test_redoc_renders_its_menu_and_operations_offline(base_url: str, page: OfflinePage) -> None:
    answer = page.page.goto(f"{base_url}/redoc")
    assert answer is not None and answer.status == 200
    menu = page.page.locator("[role=menuitem]")
    menu.first.wait_for(timeout=RENDER_MS)
    assert menu.count() > 20
    page.page.get_by_text("/v1/cycles").first.wait_for(state="attached", timeout=RENDER_MS)
    assert page.outside == [] and page.errors == []


def test_a_request_to_another_host_is_refused_and_reported(
    base_url: str, page: OfflinePage
) -> None:
    # The guard itself: were a page to load anything from a CDN, the test would see it.
    page.page.goto(f"{base_url}/healthz")
    page.page.evaluate("fetch('https://cdn.jsdelivr.net/npm/x.js').catch(() => null)")
    page.page.wait_for_timeout(200)
    assert page.outside == ["https://cdn.jsdelivr.net/npm/x.js"]
