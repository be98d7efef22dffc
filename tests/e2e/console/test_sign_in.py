"""Signing in to the console in Chromium: as a demo person, with a pasted token, refused
with a bad token; the session is an HttpOnly SameSite cookie; forms without the CSRF token
do nothing; the pages load no inline script or style (the strict policy) and pass axe."""

from __future__ import annotations

import httpx
from console_pages import ConsolePage, ConsoleSite, assert_accessible


def test_a_demo_person_signs_in_and_out(site: ConsoleSite, console: ConsolePage) -> None:
    page = console.goto("/console")
    assert "/console/sign-in" in page.url  # not signed in: sent to sign in first
    assert_accessible(page)
    console.sign_in_as("priya")
    assert page.get_by_text("Signed in as Priya Raman").is_visible()
    assert page.locator("header form.who").inner_text().startswith("Priya Raman (executive)")
    page.get_by_role("link", name="Priya Raman").click()  # her session: roles, how, until
    assert page.locator("dl.facts").inner_text().count("demo sign-in") == 1
    assert_accessible(page)
    cookie = next(c for c in page.context.cookies() if c["name"] == "okrgov_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/console"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/sign-in")
    console.goto("/console")
    assert "/console/sign-in" in page.url
    assert console.problems() == []


def test_a_pasted_token_signs_in_and_a_bad_one_is_refused(
    site: ConsoleSite, console: ConsolePage
) -> None:
    page = console.goto("/console/sign-in")
    page.get_by_label("Token from").fill("not-a-token")
    page.get_by_role("button", name="Sign in", exact=True).click()
    assert page.get_by_role("alert").inner_text().startswith("That token is not valid")
    page.get_by_label("Token from").fill(site.token("marcus", "compliance"))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(site.url("/console"))
    assert "Marcus" in page.locator("header form.who").inner_text()
    assert console.problems() == []


def test_a_form_without_its_csrf_token_changes_nothing(site: ConsoleSite) -> None:
    with httpx.Client(base_url=site.base) as client:
        sign_in = client.get("/console/sign-in")
        token = sign_in.text.split('name="csrftoken" value="')[1].split('"')[0]
        refused = client.post("/console/sign-in/demo", data={"user": "priya"})
        assert refused.status_code == 403 and "expired" in refused.text
        other = client.post(
            "/console/sign-in/demo", data={"user": "priya", "csrftoken": "x" + token}
        )
        assert other.status_code == 403
        # Another session's token is no good either: the token is this session's own.
        with httpx.Client(base_url=site.base) as stranger:
            stranger.get("/console/sign-in")
            theirs = stranger.post(
                "/console/sign-in/demo", data={"user": "priya", "csrftoken": token}
            )
            assert theirs.status_code == 403
        assert client.get("/console/me", follow_redirects=False).status_code == 303
        assert "script-src 'self'" in sign_in.headers["content-security-policy"]
        assert sign_in.headers["cache-control"] == "no-store"


def test_demo_sign_in_is_off_unless_turned_on() -> None:
    from console_pages import console_site

    with (
        console_site(demo=False, demo_sign_in=False) as site,
        httpx.Client(base_url=site.base) as client,
    ):
        page = client.get("/console/sign-in").text
        assert "As one of the demo" not in page
        token = page.split('name="csrftoken" value="')[1].split('"')[0]
        refused = client.post("/console/sign-in/demo", data={"user": "priya", "csrftoken": token})
        assert refused.status_code == 403
        assert client.get("/console", follow_redirects=False).status_code == 303
