"""Single sign-on in Chromium against the real provider process (``tests/oidc_provider.py``):
a person clicks "Sign in with single sign-on", signs in on the provider's page and lands
on the console with the roles their groups grant, the directory holding what the claims
said; signing out passes by the provider's end-session page and comes back to sign-in; a
person deactivated in the directory cannot sign in, and one deactivated while signed in is
sent to sign in on their next page.

The page may reach the console and the provider, nothing else; the provider's own pages
load a stylesheet from a CDN (refused, and not the console's doing)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from console_pages import SCREENSHOTS, ConsoleSite, assert_accessible, console_site
from oidc_provider import Provider, running_provider

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    with running_provider(tmp_path_factory.mktemp("oidc")) as running:
        yield running


@pytest.fixture(scope="module")
def sso_site(provider: Provider) -> Iterator[ConsoleSite]:
    """okrgov served with single sign-on at ``provider`` (and its other sign-ins on)."""
    with console_site(
        demo=False,
        oidc_issuer=provider.issuer,
        oidc_client_secret="a-client-secret-the-mock-accepts-any",
    ) as served:
        yield served


class TwoSitePage:
    """A page of its own browser context that may reach the console and the provider;
    any other request is refused and noted with the page it came from."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.outside: list[tuple[str, str]] = []  # (the page's URL, the refused URL)


@contextmanager
def two_site_page(browser: Any, site: ConsoleSite, provider: Provider) -> Iterator[TwoSitePage]:
    allowed = {urlsplit(site.base)[:2], urlsplit(provider.issuer)[:2]}
    context = browser.new_context(service_workers="block")
    found = TwoSitePage(context.new_page())
    found.page.set_default_timeout(15_000)

    def route(r: Route) -> None:
        parts = urlsplit(r.request.url)
        if parts.scheme in ("http", "https") and parts[:2] not in allowed:
            found.outside.append((r.request.frame.url, r.request.url))
            r.abort("blockedbyclient")
        else:
            r.continue_()

    context.route("**/*", route)
    try:
        yield found
    finally:
        context.close()


@pytest.fixture
def sso(
    request: pytest.FixtureRequest,
    chromium_browser: Any,
    sso_site: ConsoleSite,
    provider: Provider,
) -> Iterator[TwoSitePage]:
    """The page of a test; a screenshot of it under ``test-results/console/`` when the
    test fails."""
    with two_site_page(chromium_browser, sso_site, provider) as page:
        yield page
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"))
        console_pages = [(at, url) for at, url in page.outside if at.startswith(sso_site.base)]
        assert console_pages == [], "a console page reached outside"


def _sign_in_at_provider(page: Page, site: ConsoleSite, provider: Provider, user: str) -> None:
    """From the console's sign-in page: the single sign-on link, then the provider's
    authorization page, as a person fills it."""
    page.get_by_role("link", name="Sign in with single sign-on").click()
    page.wait_for_url(re.compile(re.escape(provider.issuer) + "/oauth2/authorize"))
    page.get_by_placeholder("sub").fill(user)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(site.base) + "/console"))


def test_a_person_signs_in_with_single_sign_on_and_out_through_the_provider(
    sso: TwoSitePage, sso_site: ConsoleSite, provider: Provider
) -> None:
    page = sso.page
    page.goto(sso_site.url("/console/me"))
    assert "/console/sign-in" in page.url  # not signed in: to sign in first
    assert page.get_by_label("Token from").is_visible()  # the other ways remain
    assert_accessible(page)
    _sign_in_at_provider(page, sso_site, provider, "olivia")
    page.wait_for_url(sso_site.url("/console/me"))  # back where she was headed
    assert page.get_by_text("Signed in as Olivia Grant").is_visible()
    facts = page.locator("dl.facts").inner_text()
    assert "Olivia Grant (olivia)" in facts and "single sign-on" in facts
    assert re.search(r"okrgov roles\s+executive", facts)
    person = sso_site.platform.directory.find("olivia")
    assert person is not None
    assert (person.name, person.email) == ("Olivia Grant", "olivia@northbridge.example")

    page.get_by_role("button", name="Sign out").click()  # then the sign-in page goes on
    page.wait_for_url(re.compile(re.escape(provider.issuer) + "/oauth2/end_session"))
    assert "Recommended parameter" not in page.content()  # okrgov gave its ID token as hint
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(re.compile(re.escape(sso_site.url("/console/sign-in"))))
    page.goto(sso_site.url("/console"))
    assert "/console/sign-in" in page.url  # signed out of okrgov too


def test_a_deactivated_person_cannot_sign_in(
    sso: TwoSitePage, sso_site: ConsoleSite, provider: Provider
) -> None:
    directory = sso_site.platform.directory
    if directory.find("mo") is None:
        directory.provision("mo", {"name": "Mo Chen"}, by="sam")
    directory.set_active("mo", False, by="sam", reason="left the firm")
    page = sso.page
    page.goto(sso_site.url("/console/sign-in"))
    page.get_by_role("link", name="Sign in with single sign-on").click()
    page.get_by_placeholder("sub").fill("mo")
    page.get_by_role("button", name="Authorize").click()
    refusal = page.get_by_role("alert")
    refusal.wait_for()
    assert refusal.inner_text().startswith("You may not sign in: mo is deactivated")
    assert page.url.startswith(sso_site.url("/console/sign-in/sso/callback"))
    page.goto(sso_site.url("/console"))
    assert "/console/sign-in" in page.url


def test_a_person_deactivated_while_signed_in_is_sent_to_sign_in(
    sso: TwoSitePage, sso_site: ConsoleSite, provider: Provider
) -> None:
    page = sso.page
    page.goto(sso_site.url("/console/sign-in?next=/console/me"))
    _sign_in_at_provider(page, sso_site, provider, "rick")
    page.wait_for_url(sso_site.url("/console/me"))
    assert "risk_officer" in page.locator("dl.facts").inner_text()
    sso_site.platform.directory.set_active("rick", False, by="sam")
    page.goto(sso_site.url("/console/mine"))
    assert "/console/sign-in" in page.url
    assert page.get_by_text("This person may no longer sign in; sign in again.").is_visible()
