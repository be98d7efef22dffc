"""Tom's "My work" in Chromium: his key results in the open quarter and the last closed
one, with last value, confidence and whether he checked in this week, linked to their
pages; his objectives; nobody else's. The lists are the API's (``owner=me``)."""

from __future__ import annotations

from datetime import date, timedelta

from console_pages import ConsolePage, ConsoleSite, assert_accessible

from events import clock
from projections.okr_state import KEY_RESULT, OBJECTIVE


def _owned(site: ConsoleSite, kind: str, user: str, which: str) -> list[dict]:
    view = site.platform.projections.view("okr_state")
    return view.find_where(kind, {"owner": user, "cycle_id": str(site.cycle_id(which))})


def test_tom_sees_his_work(site: ConsoleSite, console: ConsolePage) -> None:
    page = console.sign_in_as("tom", then="/console/mine")
    current, last = str(site.cycle_id("current")), str(site.cycle_id("last"))
    sections = page.locator("section.mine-cycle h2")
    assert [s.split()[0] for s in sections.all_inner_texts()] == ["2026-Q4", "2026-Q3"]

    mine = _owned(site, KEY_RESULT, "tom", "current")
    assert mine, "Tom owns the LP reporting key results"
    today = clock.today()
    monday = today - timedelta(days=today.weekday())
    section = page.locator("section.mine-cycle").filter(has=page.locator(f'[id="cycle-{current}"]'))
    rows = section.locator("table.mine-key-results tr[data-key-result]")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.keyResult)")) == sorted(
        kr["id"] for kr in mine
    )
    for kr in mine:
        row = section.locator(f'tr[data-key-result="{kr["id"]}"]')
        link = row.get_by_role("link", name=kr["title"])
        assert link.get_attribute("href") == f"/console/key-results/{kr['id']}"
        latest = kr["latest_check_in"]
        if latest is None:
            assert "none yet" in row.locator("td.last-value").inner_text()
            continue
        assert row.locator("td.last-value").inner_text().startswith(f"{latest['value']:g}")
        assert row.locator("td.confidence").inner_text().strip() == f"{latest['confidence']:g}"
        this_week = date.fromisoformat(latest["effective_on"]) >= monday
        expected = "checked in" if this_week else "silent"
        assert row.locator("td.this-week").inner_text().startswith(expected)

    objectives = _owned(site, OBJECTIVE, "tom", "current")
    shown = section.locator("table.mine-objectives tr[data-objective]")
    assert shown.count() == len(objectives)
    # The closed quarter: his key results there, scored, and nothing due.
    closed = page.locator("section.mine-cycle").filter(has=page.locator(f'[id="cycle-{last}"]'))
    done = closed.locator("table.mine-key-results tr[data-key-result]")
    assert done.count() == len(_owned(site, KEY_RESULT, "tom", "last"))
    assert set(done.locator("td.this-week").all_inner_texts()) <= {"not due"}
    assert "Priya" not in page.locator("main").inner_text()
    assert_accessible(page)
    assert console.problems() == []
