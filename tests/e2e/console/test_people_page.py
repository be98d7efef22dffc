"""The people directory in Chromium: Marcus (compliance) reads everyone, filters the
leavers, and opens a person's page with their directory history (who added, grouped and
deactivated them, and why); names are the directory's when the page is rendered, so a
renamed person shows their new name everywhere at once. Tom (a member) sees his own
entry only, and another person's page is refused. When Tom leaves, his console session
stops at once, and his pending change request is flagged "requester deactivated" on
Priya's approvals page and in the API (``requester_active``) until he is reactivated.
Every page passes axe and loads nothing the strict policy blocks."""

from __future__ import annotations

import re

import httpx
import pytest
from console_pages import ConsolePage, ConsoleSite, assert_accessible
from playwright.sync_api import expect

from services.application.demo_people import BY_ID

ZOE = {
    "name": "Zoe Lindqvist",
    "email": "zoe@example.com",
    "job_role": "portfolio_manager",
    "team": "Private Markets",
    "title": "Portfolio Manager",
}


@pytest.fixture(scope="module", autouse=True)
def directory(site: ConsoleSite) -> None:
    """The people these tests sign in as, under their demo names, and Zoe, a new joiner
    in okrgov-members."""
    people = site.platform.directory
    for user in ("marcus", "tom", "priya", "sam"):
        if people.find(user) is None:
            demo = BY_ID[user]
            people.provision(user, {"name": demo.name, "team": demo.team}, by="sam")
    people.provision("zoe", ZOE, by="sam", reason="joined Private Markets")
    people.create_group("okrgov-portfolio", ["zoe"], by="sam")


def test_compliance_reads_the_directory_and_a_persons_history(
    site: ConsoleSite, console: ConsolePage
) -> None:
    page = console.sign_in_as("marcus", then="/console/people")
    expect(page.get_by_role("heading", level=1)).to_have_text("People")
    row = page.locator("#person-zoe")
    expect(row.get_by_role("rowheader")).to_have_text("Zoe Lindqvist")
    cells = row.get_by_role("cell")
    shown = ["zoe", "zoe@example.com", "portfolio manager", "Private Markets"]
    expect(cells).to_have_text([*shown, "okrgov-portfolio", "yes"])
    assert page.locator("#person-tom").count() == 1
    assert_accessible(page)

    site.platform.directory.set_active("zoe", False, by="sam", reason="left for a competitor")
    page.get_by_label("Who").select_option("Deactivated")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"active=false"))
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#person-zoe")).to_contain_text("deactivated")

    page.locator("#person-zoe").get_by_role("link", name="Zoe Lindqvist").click()
    page.wait_for_url(re.compile("/console/people/zoe$"))
    expect(page.get_by_role("note")).to_contain_text("Deactivated: cannot sign in or act")
    history = page.get_by_role("region", name="Directory history").locator("tbody tr")
    expect(history).to_have_count(3)
    expect(history.nth(0)).to_contain_text("added to the directory")
    expect(history.nth(0)).to_contain_text("Sam Okoro")
    expect(history.nth(0)).to_contain_text("joined Private Markets")
    expect(history.nth(1)).to_contain_text("group membership: okrgov-portfolio")
    expect(history.nth(1)).to_contain_text("joined")
    expect(history.nth(2)).to_contain_text("deactivated")
    expect(history.nth(2)).to_contain_text("left for a competitor")
    assert_accessible(page)

    # Names are resolved when rendered: Sam's new name shows in Zoe's history at once.
    site.platform.directory.update("sam", {"name": "Samuel Okoro"}, by="sam")
    page.reload()
    expect(history.nth(0)).to_contain_text("Samuel Okoro")
    site.platform.directory.update("sam", {"name": BY_ID["sam"].name}, by="sam")
    assert console.problems() == []


def test_a_member_sees_their_own_entry_only(site: ConsoleSite, console: ConsolePage) -> None:
    page = console.sign_in_as("tom", then="/console/people")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#person-tom")).to_contain_text("Tom Becker")
    expect(page.get_by_text("You see your own entry")).to_be_visible()
    assert_accessible(page)
    own = page.goto(site.url("/console/people/tom"))
    assert own is not None and own.status == 200
    refused = page.goto(site.url("/console/people/zoe"))
    assert refused is not None and refused.status == 403
    expect(page.locator("main")).to_contain_text("another person's directory entry")
    assert console.problems() == []


def _api(site: ConsoleSite, user: str, role: str) -> httpx.Client:
    token = site.token(user, role)
    return httpx.Client(base_url=site.base, headers={"Authorization": f"Bearer {token}"})


def test_a_leavers_pending_request_is_flagged_to_approvers(
    site: ConsoleSite, console: ConsolePage
) -> None:
    with _api(site, "tom", "member") as tom:
        found = tom.get("/v1/key-results", params={"owner": "me", "cycle_id": site.cycle_id()})
        key_result = found.json()["items"][0]
        asked = tom.post(
            "/v1/change-requests",
            json={
                "key_result_id": key_result["id"],
                "changes": {"target": key_result["target"] + 1},
                "reason": "handing over before I leave",
            },
        )
        assert asked.status_code == 201, asked.text
        request_id = asked.json()["id"]
        assert asked.json()["requester_active"] is True

    page = console.sign_in_as("tom", then="/console/mine")
    site.platform.directory.set_active("tom", False, by="sam", reason="left the firm")
    # His session stops with him: the next page asks who he is, and he cannot sign in.
    page.goto(site.url("/console/mine"))
    page.wait_for_url(re.compile("/console/sign-in"))
    with _api(site, "priya", "executive") as priya:
        read = priya.get(f"/v1/change-requests/{request_id}")
        assert read.json()["requester_active"] is False
        pending = priya.get("/v1/change-requests", params={"status": "pending"}).json()["items"]
        assert {r["id"]: r["requester_active"] for r in pending}[request_id] is False

    page = console.sign_in_as("priya", then="/console/approvals")
    card = page.locator(f"#cr-{request_id}")
    expect(card.get_by_role("note")).to_contain_text("Requester deactivated: Tom Becker has left")
    expect(card).to_contain_text("requester deactivated")
    assert_accessible(page)
    page.goto(site.url("/console/change-requests?status=pending"))
    expect(page.locator(f"#cr-{request_id}")).to_contain_text("requester deactivated")

    site.platform.directory.set_active("tom", True, by="sam", reason="stayed after all")
    page.goto(site.url("/console/approvals"))
    expect(page.locator(f"#cr-{request_id}")).to_contain_text("handing over before I leave")
    expect(page.locator(f"#cr-{request_id}")).not_to_contain_text("requester deactivated")
    assert console.problems() == []
