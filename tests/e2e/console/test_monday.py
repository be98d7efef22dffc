"""Priya's Monday page in Chromium (JOURNEYS.md): the current cycle's objectives and key
results with last values and confidence (and its trend), who has not checked in this week
(found from the data, shown as "silent" and counted), the team filter as a plain form
and as htmx, and the lock/close/seal buttons: an executive's early close without a reason
is refused by the ledger and the refusal shown; a member sees no button."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
from console_pages import ConsolePage, ConsoleSite, assert_accessible

from events import clock
from projections.okr_state import KEY_RESULT


def _live_key_results(site: ConsoleSite) -> list[dict]:
    view = site.platform.projections.view("okr_state")
    cycle = str(site.cycle_id("current"))
    return view.find_where(KEY_RESULT, {"cycle_id": cycle, "status": "active"})


def _this_week() -> date:
    today = clock.today()
    return today - timedelta(days=today.weekday())


def _reported_this_week(kr: dict) -> bool:
    latest = kr["latest_check_in"]
    return latest is not None and date.fromisoformat(latest["effective_on"]) >= _this_week()


def test_priya_reads_the_current_cycle(site: ConsoleSite, console: ConsolePage) -> None:
    page = console.sign_in_as("priya", then="/console")
    names = site.platform.names
    live = _live_key_results(site)
    assert page.locator("h1").inner_text().startswith("2026-Q4")
    assert page.locator("#next-step").inner_text().startswith("Close the cycle at quarter end")
    rows = page.locator("tr[data-key-result]")
    assert rows.count() >= len(live) > 0

    checked = next(kr for kr in live if kr["latest_check_in"])
    row = page.locator(f'tr[data-key-result="{checked["id"]}"]')
    latest = checked["latest_check_in"]
    assert row.get_by_role("link", name=checked["title"]).get_attribute("href") == (
        f"/console/key-results/{checked['id']}"
    )
    assert row.locator("td.last-value").inner_text().startswith(f"{latest['value']:g}")
    assert row.locator("td.confidence").inner_text().strip() == f"{latest['confidence']:g}"
    spark = row.locator("td.confidence svg[role=img]")
    assert spark.get_attribute("aria-label").endswith(f"latest {latest['confidence']:.2f}")
    assert names[checked["owner"]] in row.inner_text()

    # Silence, from the data: owners of live key results with no check-in this week.
    silent = sorted({kr["owner"] for kr in live if not _reported_this_week(kr)})
    assert silent, "the demo has a key result whose owner stopped checking in"
    listed = page.locator("ul.silent-list > li")
    assert listed.count() == len(silent)
    assert page.locator("#silent-count strong").inner_text() == str(len(silent))
    quiet = listed.filter(has_text=names[silent[0]])
    assert quiet.locator(".silent").inner_text() == "silent"
    everyone_in = {kr["owner"] for kr in live} - set(silent)
    assert everyone_in and all(names[o] not in listed.all_inner_texts() for o in everyone_in)
    assert_accessible(page)

    # The team filter, as htmx: only the tree is replaced, and the URL says the filter.
    team = site.platform.people["tom"].team
    page.get_by_label("Team", exact=True).select_option(team)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_selector("#filtered")
    assert re.search(r"[?&]team=", page.url)
    assert page.locator("h1").count() == 1
    owners = {
        kr["owner"]
        for kr in live
        if site.platform.people.get(kr["owner"]) and site.platform.people[kr["owner"]].team == team
    }
    shown = page.locator("#tree tr[data-key-result] td:nth-child(2)").all_inner_texts()
    assert shown and {s.strip() for s in shown} <= {names[o] for o in owners} | {"—"}
    assert names["tom"] in {s.strip() for s in shown}
    assert_accessible(page)
    assert console.problems() == []


def test_the_filter_works_without_javascript(site: ConsoleSite, console: ConsolePage) -> None:
    console.sign_in_as("priya")
    cycle = site.cycle_id("current")
    page = console.goto(f"/console?cycle_id={cycle}&level=company")
    levels = page.locator("#tree li.objective > h3 .state").all_inner_texts()
    assert levels and set(levels) == {"company"}
    assert page.locator("#f-level").input_value() == "company"
    # The last quarter: sealed, its scores shown, a link to its quarter-end page.
    page = console.goto(f"/console?cycle_id={site.cycle_id('last')}")
    assert page.locator("h1 .state").inner_text() == "sealed"
    assert page.get_by_role("link", name=re.compile("Quarter-end page")).count() == 1
    assert page.locator("td.this-week").first.inner_text() == "not due"
    assert_accessible(page)
    assert console.problems() == []


def test_an_early_close_without_a_reason_is_refused(
    site: ConsoleSite, console: ConsolePage
) -> None:
    page = console.sign_in_as("priya")
    page.get_by_role("button", name=re.compile("^Close ")).click()
    alert = page.get_by_role("alert")
    assert "reason" in alert.inner_text()
    assert page.locator("h1 .state").inner_text() == "locked"
    assert_accessible(page)
    assert console.problems() == []


def test_a_member_sees_the_page_without_the_buttons(
    site: ConsoleSite, console: ConsolePage
) -> None:
    page = console.sign_in_as("tom")
    assert page.locator("tr[data-key-result]").count() > 0
    for name in ("^Lock ", "^Close ", "^Seal "):
        assert page.get_by_role("button", name=re.compile(name)).count() == 0
    assert_accessible(page)
    assert console.problems() == []


def test_a_pending_change_request_waits_on_the_page(
    site: ConsoleSite, console: ConsolePage
) -> None:
    toms = next(kr for kr in _live_key_results(site) if kr["owner"] == "tom")
    body = {"key_result_id": toms["id"], "changes": {"target": 10}, "reason": "fund admin slips"}
    headers = {"Authorization": f"Bearer {site.token('tom', 'member')}"}
    with httpx.Client(base_url=site.base, headers=headers, timeout=60) as api:
        filed = api.post("/v1/change-requests", json=body)
        assert filed.status_code == 201, filed.text
    page = console.sign_in_as("priya")
    waiting = page.get_by_role("table", name=re.compile("^Pending change requests"))
    row = waiting.get_by_role("row").filter(has_text="fund admin slips")
    assert row.get_by_role("link", name=toms["title"]).get_attribute("href") == (
        "/console/approvals"
    )
    assert site.platform.names["tom"] in row.inner_text()
    assert_accessible(page)
    assert console.problems() == []


def test_going_back_after_a_filter_restores_the_whole_page(
    site: ConsoleSite, console: ConsolePage
) -> None:
    page = console.sign_in_as("priya")
    page.get_by_label("Level", exact=True).select_option("company")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_selector("#filtered")
    page.go_back()
    page.wait_for_selector("#filtered", state="detached")
    assert page.locator("h1").count() == 1 and page.locator("#silent-count").count() == 1
    assert page.locator("#tree li.objective").count() > 1
    assert console.problems() == []
