"""The console as a person meets it: okrgov served over real HTTP with the demo firm
loaded and demo sign-in on, and the system Chromium (``tests/browser.py``) signed in as one
of the demo's people. Every page is held to:

* ``assert_accessible``: axe-core (the copy ``axe-playwright-python`` ships) finds no
  serious or critical WCAG 2.1 A/AA violation;
* ``ConsolePage.problems``: no script error, and no Content-Security-Policy violation (an
  inline script or style the strict policy blocked), and no request outside the server.

    def test_something(site: ConsoleSite, console: ConsolePage) -> None:
        console.sign_in_as("priya")
        console.page.goto(site.url("/console"))
        assert_accessible(console.page)
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from browser import OfflinePage
from live_server import live_server

from infra.config import Settings
from infra.logging import quieted
from services.api import create_app
from services.application.demo import DemoSummary, load_demo
from services.bootstrap import Platform, build

if TYPE_CHECKING:
    from playwright.sync_api import Page

SECRET = "console-test-secret-of-enough-length-for-hs256"
#: axe-core's impacts a page must not have.
BLOCKING = ("serious", "critical")
#: Where a failing browser test leaves a screenshot of its page (ignored by git).
SCREENSHOTS = Path("test-results") / "console"


@dataclass
class ConsoleSite:
    """okrgov served on a loopback port: its base URL, its platform, the demo it holds."""

    base: str
    platform: Platform
    demo: DemoSummary | None

    def url(self, path: str) -> str:
        return self.base + path

    def cycle_id(self, which: str = "current") -> str:
        """The demo's current (locked, checked in) or last (closed, sealed) quarter."""
        assert self.demo is not None, "this site has no demo"
        names = sorted(self.demo.cycle_ids)
        return self.demo.cycle_ids[names[-1] if which == "current" else names[0]]

    def token(self, user: str, *roles: str) -> str:
        """A bearer token for ``user`` with ``roles`` (for the token sign-in, or the API)."""
        return self.platform.tokens.issue(user, roles, issued_by="sam").text


def _settings(data_dir: Path, **settings: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        secret_key=SECRET,
        demo_sign_in=settings.pop("demo_sign_in", True),
        log_level="WARNING",
        **settings,
    )


#: The demo loaded once per test process (a data directory and what was loaded), copied
#: for each site: each test module gets a store of its own without loading it again.
_demo_store: tuple[Path, DemoSummary] | None = None


def _loaded_demo() -> tuple[Path, DemoSummary]:
    global _demo_store
    if _demo_store is None:
        data_dir = Path(tempfile.mkdtemp(prefix="okrgov-console-demo-"))
        platform = build(_settings(data_dir))
        platform.start()
        try:
            with quieted():
                summary = load_demo(platform.ledger)
            platform.catch_up()
        finally:
            platform.close()
        _demo_store = (data_dir, summary)
    return _demo_store


@contextmanager
def console_site(demo: bool = True, **settings: Any) -> Iterator[ConsoleSite]:
    """A store of its own (a copy of the demo's unless ``demo=False``), served over HTTP."""
    with tempfile.TemporaryDirectory(prefix="okrgov-console-") as parent:
        data_dir, summary = Path(parent) / "data", None
        if demo:
            loaded, summary = _loaded_demo()
            shutil.copytree(loaded, data_dir)
        platform = build(_settings(data_dir, **settings))
        platform.start()
        try:
            with live_server(create_app(platform)) as base:
                yield ConsoleSite(base, platform, summary)
        finally:
            platform.close()


@dataclass
class ConsolePage:
    """A browser page on the console site, and what went wrong on it."""

    site: ConsoleSite
    offline: OfflinePage
    console_errors: list[str] = field(default_factory=list)

    @property
    def page(self) -> Page:
        return self.offline.page

    def goto(self, path: str) -> Page:
        self.page.goto(self.site.url(path))
        return self.page

    def sign_in_as(self, user: str, then: str = "/console") -> Page:
        """Demo sign-in as ``user`` (a demo person's id), then open ``then``."""
        self.goto(f"/console/sign-in?next={then}")
        self.page.get_by_role("button", name=re.compile(rf"^{_name_of(self.site, user)}$")).click()
        self.page.wait_for_url(re.compile(re.escape(then.split("?")[0])))
        return self.page

    def problems(self) -> list[str]:
        """Script errors, CSP violations and requests outside the server, so far."""
        csp = [m for m in self.console_errors if "Content Security Policy" in m]
        return [*self.offline.errors, *csp, *self.offline.outside]


def _name_of(site: ConsoleSite, user: str) -> str:
    return re.escape(site.platform.names.get(user, user))


def assert_accessible(page: Page, context: str | None = None) -> None:
    """No serious or critical axe-core violation of WCAG 2.1 A/AA on ``page``."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    results = Axe().run(page, context=context, options=options)
    blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING]
    found = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in blocking
    ]
    assert not found, f"accessibility violations on {page.url}:\n" + "\n".join(found)
