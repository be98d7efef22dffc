"""Quarter end in Chromium: Priya opens the demo's sealed quarter, sees the seal's digest,
verifies it against the events, downloads the board pack PDF whose SHA-256 the page shows
(the API's bytes too), and looks at an earlier position; the open quarter verifies too; a
malformed "as of" is refused as the API refuses it. Every page passes axe."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import httpx
from console_pages import ConsolePage, ConsoleSite, assert_accessible


def _api(site: ConsoleSite) -> httpx.Client:
    token = site.token("priya", "executive")
    return httpx.Client(
        base_url=site.base, headers={"Authorization": f"Bearer {token}"}, timeout=120
    )


def _name_of(site: ConsoleSite, cycle_id: str) -> str:
    assert site.demo is not None
    return next(name for name, ident in site.demo.cycle_ids.items() if str(ident) == cycle_id)


def _shown(console: ConsolePage, selector: str) -> str:
    return console.page.locator(selector).inner_text().strip()


def test_priya_verifies_the_sealed_quarter_and_quotes_its_pdf(
    site: ConsoleSite, console: ConsolePage
) -> None:
    cycle_id = str(site.cycle_id("last"))
    with _api(site) as api:
        cycle: dict[str, Any] = api.get(f"/v1/cycles/{cycle_id}").json()
        sealed_by = api.get(f"/v1/cycles/{cycle_id}/snapshot/verify").json()["sealed_by"]
    seal = cycle["seal"]
    assert cycle["state"] == "sealed" and seal is not None

    page = console.sign_in_as("priya", then="/console/quarter-end")
    row = page.locator(f"tr[data-cycle='{cycle_id}']")
    assert seal["digest"] in row.inner_text()
    assert f"sealed by {site.platform.names[sealed_by]}" in row.inner_text()
    assert_accessible(page)

    row.get_by_role("link", name=_name_of(site, cycle_id)).click()
    page.wait_for_url(re.compile(f"/console/quarter-end/{cycle_id}$"))
    assert _shown(console, "#snapshot-digest") == seal["digest"]
    assert _shown(console, "#snapshot-position") == str(seal["position"])
    assert "this is the sealed snapshot" in _shown(console, "#snapshot-seal")

    page.get_by_role("button", name="Verify").click()
    check = page.locator(".verification")
    check.first.wait_for()
    assert check.count() == 1
    assert check.get_attribute("data-matches") == "true"
    assert "The sealed snapshot: match" in check.locator("h3").inner_text()
    assert _shown(console, ".verification code.expected") == seal["digest"]
    assert _shown(console, ".verification code.recomputed") == seal["digest"]

    # The PDF's SHA-256 comes in after the page (it takes a render); the download is it.
    shown_sha = page.locator("#pdf-digest")
    shown_sha.wait_for(timeout=60_000)
    assert_accessible(page)
    with page.expect_download(timeout=60_000) as started:
        page.get_by_role("link", name="Board pack (PDF)").click()
    download = started.value
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    sealed_pdf_sha = shown_sha.inner_text().strip()
    assert hashlib.sha256(pdf).hexdigest() == sealed_pdf_sha
    with _api(site) as api:
        exported = api.get(
            f"/v1/cycles/{cycle_id}/snapshot/export",
            params={"format": "pdf", "as_of": seal["position"]},
        )
        exported_html = api.get(
            f"/v1/cycles/{cycle_id}/snapshot/export",
            params={"format": "html", "as_of": seal["position"]},
        )
    assert exported.status_code == 200 and exported.content == pdf
    html_link = page.get_by_role("link", name="Board pack (HTML)").get_attribute("href")
    assert html_link is not None
    report = page.request.get(site.url(html_link))
    assert report.ok and report.body() == exported_html.content
    assert report.headers["content-security-policy"].startswith("default-src 'none'")

    earlier = seal["position"] - 40
    page.get_by_label("As of").fill(str(earlier))
    page.get_by_role("button", name="Show the snapshot").click()
    page.wait_for_url(re.compile(rf"as_of={earlier}$"))
    assert _shown(console, "#snapshot-position") == str(earlier)
    digest = _shown(console, "#snapshot-digest")
    assert re.fullmatch(r"[0-9a-f]{64}", digest) and digest != seal["digest"]
    assert "not the sealed snapshot" in _shown(console, "#snapshot-seal")
    page.locator("#pdf-digest").wait_for(timeout=60_000)
    assert re.fullmatch(r"[0-9a-f]{64}", _shown(console, "#pdf-digest"))
    assert _shown(console, "#pdf-digest") != sealed_pdf_sha
    page.get_by_role("button", name="Verify").click()
    checks = page.locator(".verification")
    checks.nth(1).wait_for()
    assert [checks.nth(i).get_attribute("data-matches") for i in range(2)] == ["true", "true"]
    assert f"as of position {earlier}: match" in checks.nth(1).inner_text()
    assert digest in checks.nth(1).inner_text()
    assert_accessible(page)
    assert console.problems() == []


def test_the_open_quarter_verifies_against_its_events(
    site: ConsoleSite, console: ConsolePage
) -> None:
    cycle_id = str(site.cycle_id("current"))
    page = console.sign_in_as("priya", then=f"/console/quarter-end/{cycle_id}")
    assert "not sealed" in _shown(console, "#snapshot-seal")
    digest = _shown(console, "#snapshot-digest")
    page.get_by_role("button", name="Verify").click()
    check = page.locator(".verification")
    check.wait_for()
    assert check.get_attribute("data-matches") == "true"
    assert _shown(console, ".verification code.expected") == digest
    assert _shown(console, ".verification code.recomputed") == digest
    assert_accessible(page)

    # Without JavaScript the form and the link load whole pages with the same answers.
    position = _shown(console, "#snapshot-position")
    console.goto(f"/console/quarter-end/{cycle_id}/verify?position={position}&digest={digest}")
    assert page.locator("h1").count() == 1
    assert page.locator(".verification").get_attribute("data-matches") == "true"
    console.goto(f"/console/quarter-end/{cycle_id}/verify?position={position}&digest={'0' * 64}")
    assert page.locator(".verification").get_attribute("data-matches") == "false"
    assert "MISMATCH" in _shown(console, ".verification h3")
    assert _shown(console, ".verification code.recomputed") == digest
    console.goto(f"/console/quarter-end/{cycle_id}/pdf-sha256?as_of={position}")
    assert re.fullmatch(r"[0-9a-f]{64}", _shown(console, "#pdf-digest"))
    assert console.problems() == []


def test_a_malformed_as_of_is_refused_as_the_api_refuses_it(
    site: ConsoleSite, console: ConsolePage
) -> None:
    cycle_id = str(site.cycle_id("current"))
    page = console.sign_in_as("priya", then=f"/console/quarter-end/{cycle_id}")
    page.get_by_label("As of").fill("last Tuesday")
    page.get_by_role("button", name="Show the snapshot").click()
    page.wait_for_url(re.compile("as_of=last"))
    assert "as_of" in page.get_by_role("alert").inner_text()
    assert page.locator("#as_of-error").is_visible()
    assert page.locator("#snapshot-digest").count() == 0
    assert_accessible(page)
    console.goto(f"/console/quarter-end/{cycle_id}?as_of=1")  # before the cycle was opened
    assert "404" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("As of").input_value() == "1"
    with _api(site) as api:
        refused = api.get(f"/v1/cycles/{cycle_id}/snapshot", params={"as_of": "last Tuesday"})
    assert refused.status_code == 422
    assert console.problems() == []
