"""Marcus's journey in Chromium: the audit trail filtered by one of Tom's key results, its
CSV download (the API's export of the same filter), the denied pay-linked attempts with
who and the rule, the integrity check ("intact up to position N", N the store's head) and
an inclusion proof; and a member refused the trail as the API refuses him."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import httpx
import pytest
from console_pages import ConsolePage, ConsoleSite, assert_accessible
from playwright.sync_api import expect

from projections.compliance import VIEWS


def api(site: ConsoleSite, user: str, *roles: str) -> httpx.Client:
    token = site.token(user, *roles)
    return httpx.Client(base_url=site.base, headers={"Authorization": f"Bearer {token}"})


def toms_turnaround(site: ConsoleSite) -> dict[str, Any]:
    """Tom's "LP reporting turnaround" of the current quarter, from the OKR state."""
    found = [
        kr
        for kr in site.platform.projections.view("okr_state").find("key_result")
        if kr["title"] == "LP reporting turnaround"
        and kr["owner"] == "tom"
        and kr["cycle_id"] == str(site.cycle_id("current"))
    ]
    assert len(found) == 1
    return found[0]


def test_marcus_searches_the_trail_and_downloads_the_csv(
    site: ConsoleSite, console: ConsolePage
) -> None:
    kr = toms_turnaround(site)
    page = console.sign_in_as("marcus", then="/console/audit")
    assert page.get_by_role("heading", level=1).inner_text() == "Audit trail"
    assert_accessible(page)
    page.get_by_label("Object id").fill(kr["id"])
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(rf"aggregate_id={kr['id']}"))  # htmx pushed it
    rows = page.locator("table.audit tbody tr")
    with api(site, "marcus", "compliance") as marcus:
        expected = marcus.get("/v1/audit", params={"aggregate_id": kr["id"]}).json()["items"]
        exported = marcus.get("/v1/audit", params={"aggregate_id": kr["id"], "format": "csv"})
    assert rows.count() == len(expected) > 1
    # Each entry: its position, the actor's name and id, its reason where it has one.
    for row, entry in zip(rows.all(), expected, strict=True):
        cells = row.locator("td")
        assert cells.nth(0).inner_text() == str(entry["position"])
        assert (
            cells.nth(2).inner_text() == f"{site.platform.names[entry['actor']]} ({entry['actor']})"
        )
        assert cells.nth(3).inner_text().startswith(entry["action"])
        assert "LP reporting turnaround" in cells.nth(4).inner_text()
        assert cells.nth(6).inner_text() == (entry["reason"] or "—")
    assert any(e["reason"] for e in expected)
    assert_accessible(page)

    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    download = info.value
    assert download.suggested_filename == "audit.csv"
    raw = download.path().read_bytes()
    assert raw == exported.content  # the API's export of the same filter, byte for byte
    body = raw.decode()
    lines = list(csv.DictReader(io.StringIO(body)))
    assert body.splitlines()[0] == exported.text.splitlines()[0]
    assert [int(r["position"]) for r in lines] == [e["position"] for e in expected]
    assert {r["aggregate_id"] for r in lines} == {kr["id"]}
    assert console.problems() == []


def test_the_trail_pages_forward_and_back_without_script(site: ConsoleSite) -> None:
    with httpx.Client(base_url=site.base, follow_redirects=True) as client:
        sign_in = client.get("/console/sign-in").text
        token = sign_in.split('name="csrftoken" value="')[1].split('"')[0]
        client.post("/console/sign-in/demo", data={"user": "marcus", "csrftoken": token})
        first = client.get("/console/audit")
        assert first.status_code == 200
        positions = re.findall(r'<tr>\s*<td class="num">(\d+)</td>', first.text)
        assert positions[:3] == ["1", "2", "3"] and len(positions) == 100
        following = re.search(r'href="([^"]+)"[^>]*rel="next"', first.text)
        assert following is not None
        second = client.get(following.group(1).replace("&amp;", "&"))
        assert re.findall(r'<tr>\s*<td class="num">(\d+)</td>', second.text)[0] == "101"
        back = re.search(r'href="([^"]+)"[^>]*rel="prev"', second.text)
        assert back is not None
        again = client.get(back.group(1).replace("&amp;", "&"))
        assert re.findall(r'<tr>\s*<td class="num">(\d+)</td>', again.text)[:1] == ["1"]
        # A filter the API refuses is refused here in the API's words (422).
        refused = client.get(
            "/console/audit", params={"since": "2026-12-01", "until": "2026-11-01"}
        )
        assert refused.status_code == 422 and "until must be later than since" in refused.text
        jsonl = client.get("/console/audit/export.jsonl", params={"actor": "tom"})
        assert jsonl.headers["content-disposition"] == 'attachment; filename="audit.jsonl"'
        assert {json.loads(line)["actor"] for line in jsonl.text.splitlines()} == {"tom"}


def test_marcus_sees_the_denied_pay_linked_attempts_and_every_view(
    site: ConsoleSite, console: ConsolePage
) -> None:
    with api(site, "marcus", "compliance") as marcus:
        violations = marcus.get("/v1/compliance/violations").json()
    pay_linked = [
        (d["actor"], v["rule"])
        for d in violations["items"]
        for v in d["deny"]
        if v["rule"] == "pay_linked"
    ]
    assert pay_linked  # the demo has denied attempts at pay-linked key results
    page = console.sign_in_as("marcus", then="/console/compliance/violations")
    denied = page.locator("tr.denied").filter(has_text="pay_linked")
    assert denied.count() == len(pay_linked)
    for row, (actor, rule) in zip(denied.all(), pay_linked, strict=True):
        text = row.inner_text()
        assert f"{site.platform.names[actor]} ({actor})" in text and rule in text
        assert "denied" in text
    assert page.locator("tr.denied").count() == violations["denied"]
    assert_accessible(page)
    for view in VIEWS[1:]:
        page.locator(f'nav.tabs a[href="/console/compliance/{view}"]').click()
        page.wait_for_url(site.url(f"/console/compliance/{view}"))
        assert page.get_by_role("heading", level=1).is_visible()
        assert_accessible(page)
    page.goto(site.url("/console/compliance/no-such-view"))
    assert "no compliance view" in page.get_by_role("alert").inner_text()
    assert console.problems() == []


def test_marcus_checks_the_integrity_and_proves_an_event(
    site: ConsoleSite, console: ConsolePage
) -> None:
    head = httpx.get(site.url("/healthz")).json()["recorded"]
    page = console.sign_in_as("marcus", then="/console/integrity")
    assert page.get_by_text("Not run on this page yet").is_visible()
    assert page.locator("table tbody tr").count() >= 1  # the signed checkpoints
    assert_accessible(page)
    page.get_by_role("button", name="Run the integrity check").click()
    verdict = page.locator("#status .verdict")
    verdict.wait_for()
    assert f"intact up to position {head} " in verdict.inner_text()
    page.get_by_label("Event position").fill("1")
    page.get_by_role("button", name="Prove inclusion").click()
    page.locator("#proof .verdict").wait_for()
    assert page.locator("#proof .verdict").inner_text().startswith("Verified: yes")
    assert_accessible(page)
    # The same proof as a plain page (no script), and a position with no event refused.
    page.goto(site.url("/console/integrity?position=1"))
    assert page.locator("#proof .verdict").inner_text().startswith("Verified: yes")
    page.goto(site.url(f"/console/integrity?position={head + 1000}"))
    assert "Refused (404" in page.get_by_role("alert").inner_text()
    assert console.problems() == []


@pytest.mark.parametrize(
    "path", ["/console/audit", "/console/compliance/violations", "/console/integrity"]
)
def test_a_member_is_refused_as_by_the_api(
    site: ConsoleSite, console: ConsolePage, path: str
) -> None:
    with api(site, "tom", "member") as tom:
        assert tom.get("/v1/audit").status_code == 403
    page = console.sign_in_as("tom", then="/console")
    answer = page.goto(site.url(path))
    assert answer is not None and answer.status == 403
    assert "Refused (403" in page.get_by_role("alert").inner_text()
    assert_accessible(page)
    assert console.problems() == []


def test_on_a_store_edited_behind_its_back_the_check_names_the_row() -> None:
    """Someone rewrote a row directly in the database: the check says which one."""
    import sqlite3

    from console_pages import console_site

    with (
        console_site(demo=False) as site,
        httpx.Client(base_url=site.base, follow_redirects=True) as client,
    ):
        form = client.get("/console/sign-in").text
        csrf = form.split('name="csrftoken" value="')[1].split('"')[0]
        token = site.token("marcus", "compliance")
        client.post("/console/sign-in", data={"token": token, "csrftoken": csrf})
        intact = client.get("/console/integrity", params={"check": "true"})
        assert "intact up to position" in intact.text
        database = sqlite3.connect(site.platform.settings.data_dir / "okrgov.sqlite")
        try:
            database.execute("DROP TRIGGER IF EXISTS stored_events_refuse_update")
            (state,) = database.execute(
                "SELECT state FROM stored_events WHERE rowid = 2"
            ).fetchone()
            forged = bytes(state).replace(b"guardrails", b"guardrailz", 1)
            assert forged != bytes(state)
            database.execute("UPDATE stored_events SET state = ? WHERE rowid = 2", (forged,))
            database.commit()
        finally:
            database.close()
        tampered = client.get("/console/integrity", params={"check": "true"}).text
        assert "tampered" in tampered
        assert "<strong>position 2</strong> (changed)" in tampered
