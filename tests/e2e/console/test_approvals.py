"""Priya's approval (JOURNEYS.md) in Chromium: Tom asks, after lock, to move his LP
reporting target from 8 to 10 days; Priya sees the request in her approvals inbox with
what it would change, approves it with a reason, and the target is 10. Tom sees his
request without the buttons. A member sees no buttons, and a forged approval is refused
(403) by the same command, changing nothing. The rejection path too. Every page passes
axe and loads nothing the strict policy blocks."""

from __future__ import annotations

import re
from typing import Any

import httpx
from console_pages import ConsolePage, ConsoleSite, assert_accessible
from playwright.sync_api import expect

REASON = "agreed: the administrator's migration slipped; revisit next quarter"


def api(site: ConsoleSite, user: str, role: str) -> httpx.Client:
    token = site.token(user, role)
    return httpx.Client(base_url=site.base, headers={"Authorization": f"Bearer {token}"})


def toms_key_result(site: ConsoleSite, title: str) -> dict[str, Any]:
    """Tom's key result ``title`` in the demo's current (locked) cycle."""
    with api(site, "tom", "member") as tom:
        found = tom.get("/v1/key-results", params={"owner": "me", "cycle_id": site.cycle_id()})
        assert found.status_code == 200, found.text
        return next(kr for kr in found.json()["items"] if kr["title"] == title)


def tom_asks(site: ConsoleSite, key_result: str, target: float, reason: str) -> str:
    body = {"key_result_id": key_result, "changes": {"target": target}, "reason": reason}
    with api(site, "tom", "member") as tom:
        asked = tom.post("/v1/change-requests", json=body)
        assert asked.status_code == 201, asked.text
        assert asked.json()["status"] == "pending"
        return str(asked.json()["id"])


def read(site: ConsoleSite, path: str) -> dict[str, Any]:
    with api(site, "priya", "executive") as priya:
        answer = priya.get(path)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


def test_priya_approves_toms_change_request(site: ConsoleSite, console: ConsolePage) -> None:
    turnaround = toms_key_result(site, "LP reporting turnaround")
    assert turnaround["target"] == 8  # the demo's current quarter, after its own approval
    asked = tom_asks(site, turnaround["id"], 10, "the fund administrator migration slipped")

    page = console.sign_in_as("tom", then="/console/approvals")
    mine = page.locator(f"#cr-{asked}")
    expect(page.get_by_role("region", name=re.compile("^Your requests"))).to_contain_text(
        "LP reporting turnaround"
    )
    expect(mine.get_by_role("table")).to_contain_text("target")
    expect(mine).to_contain_text("you cannot decide your own request")
    assert mine.get_by_role("button").count() == 0
    assert page.get_by_role("button", name="Approve").count() == 0
    assert_accessible(page)

    page = console.sign_in_as("priya", then="/console/approvals")
    card = page.locator(f"#cr-{asked}")
    expect(card).to_contain_text("Tom Becker")
    expect(card).to_contain_text("the fund administrator migration slipped")
    row = card.get_by_role("row", name=re.compile("^target"))
    expect(row.get_by_role("cell").nth(0)).to_have_text("8")
    expect(row.get_by_role("cell").nth(1)).to_have_text("→ 10")
    link = card.get_by_role("link", name="LP reporting turnaround")
    assert link.get_attribute("href") == f"/console/key-results/{turnaround['id']}"
    assert_accessible(page)

    card.get_by_label("Reason for your decision").fill(REASON)
    card.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text(
        "Approved: the change request about LP reporting turnaround."
    )
    expect(page.locator(f"#cr-{asked}")).to_have_count(0)
    assert_accessible(page)

    console.goto("/console/change-requests?status=approved")
    decided = page.locator(f"#cr-{asked}")
    expect(decided).to_contain_text("Priya Raman")
    expect(decided).to_contain_text(REASON)
    expect(decided).to_contain_text("applied")
    assert_accessible(page)
    console.goto("/console/change-requests?status=pending")
    expect(page.locator(f"#cr-{asked}")).to_have_count(0)

    assert read(site, f"/v1/key-results/{turnaround['id']}")["target"] == 10
    request = read(site, f"/v1/change-requests/{asked}")
    assert (request["decided_by"], request["decision_reason"]) == ("priya", REASON)
    assert console.problems() == []


def forge(page: Any, action: str) -> Any:
    """Post the decision form a member was never shown, with the page's own CSRF token,
    as the browser would: the answer is the page the browser shows."""
    script = """([action]) => {
        const form = document.createElement('form');
        form.method = 'post';
        form.action = action;
        for (const [name, value] of [['csrftoken', document.querySelector(
                'input[name=csrftoken]').value], ['reason', 'fine by me']]) {
            const input = document.createElement('input');
            input.type = 'hidden'; input.name = name; input.value = value;
            form.appendChild(input);
        }
        document.body.appendChild(form);
        form.submit();
    }"""
    with page.expect_navigation() as answered:
        page.evaluate(script, [action])
    return answered.value


def test_a_member_cannot_approve(site: ConsoleSite, console: ConsolePage) -> None:
    portal = toms_key_result(site, "LP portal adoption")
    asked = tom_asks(site, portal["id"], 85, "the portal vendor delayed the new login flow")

    page = console.sign_in_as("sofia", then="/console/approvals")
    others = page.get_by_role("region", name=re.compile("^Waiting for someone else"))
    expect(others).to_contain_text("LP portal adoption")
    expect(others).to_contain_text("Only executive may decide these")
    assert page.get_by_role("button", name="Approve").count() == 0
    assert page.get_by_role("button", name="Reject").count() == 0
    assert_accessible(page)

    answer = forge(page, f"/console/approvals/{asked}/approve")
    assert answer.status == 403
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Refused (403")
    expect(alert).to_contain_text("may not decide change requests")
    expect(alert).to_contain_text("approver_role")
    assert_accessible(page)

    page = console.sign_in_as("tom", then="/console/approvals")
    answer = forge(page, f"/console/approvals/{asked}/approve")
    assert answer.status == 403  # not an approver, and the requester: both rules refuse
    expect(page.get_by_role("alert")).to_contain_text("four_eyes")
    expect(page.get_by_role("alert")).to_contain_text("approver_role")

    request = read(site, f"/v1/change-requests/{asked}")
    assert (request["status"], request["decided_by"]) == ("pending", None)
    assert read(site, f"/v1/key-results/{portal['id']}")["target"] == portal["target"]
    assert console.problems() == []


def test_priya_rejects_a_change_request(site: ConsoleSite, console: ConsolePage) -> None:
    portal = toms_key_result(site, "LP portal adoption")
    asked = tom_asks(site, portal["id"], 80, "fewer LPs than planned onboard this quarter")
    reason = "the adoption target is what the LP advisory committee was promised"

    page = console.sign_in_as("priya", then="/console/approvals")
    card = page.locator(f"#cr-{asked}")
    row = card.get_by_role("row", name=re.compile("^target"))
    expect(row.get_by_role("cell").nth(1)).to_have_text("→ 80")
    card.get_by_label("Reason for your decision").fill(reason)
    card.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status")).to_have_text(
        "Rejected: the change request about LP portal adoption."
    )
    expect(page.locator(f"#cr-{asked}")).to_have_count(0)

    console.goto("/console/change-requests?status=rejected")
    decided = page.locator(f"#cr-{asked}")
    expect(decided).to_contain_text("Priya Raman")
    expect(decided).to_contain_text(reason)
    assert_accessible(page)
    console.goto("/console/change-requests?status=approved")
    expect(page.locator(f"#cr-{asked}")).to_have_count(0)

    assert read(site, f"/v1/key-results/{portal['id']}")["target"] == portal["target"]
    assert read(site, f"/v1/change-requests/{asked}")["status"] == "rejected"
    assert console.problems() == []


def test_a_proposed_policy_version_waits_for_another_risk_officer(
    site: ConsoleSite, console: ConsolePage
) -> None:
    with api(site, "ana", "risk_officer") as ana:
        active = ana.get("/v1/policies/active").json()
        data = {**active["data"], "risk_appetite": {**active["data"]["risk_appetite"]}}
        data["risk_appetite"]["investment"] = 3
        body = {"modules": active["modules"], "data": data, "description": "investment 4 -> 3"}
        proposed = ana.post("/v1/policies", json=body, timeout=120)
        assert proposed.status_code == 201, proposed.text
        version = proposed.json()

    page = console.sign_in_as("kofi", then="/console/approvals")
    waiting = page.get_by_role("table", name=re.compile("^Proposed policy versions"))
    row = waiting.get_by_role("row", name=re.compile(f"^{version['number']}: investment"))
    expect(row).to_contain_text("Ana Sousa")
    expect(row).to_contain_text(version["digest"])
    review = row.get_by_role("link", name=f"Review version {version['number']}")
    assert review.get_attribute("href") == f"/console/policies/{version['id']}"
    assert_accessible(page)

    page = console.sign_in_as("ana", then="/console/approvals")
    expect(page.get_by_role("row", name=re.compile(f"^{version['number']}: "))).to_contain_text(
        "(you: another risk officer approves)"
    )
    page = console.sign_in_as("priya", then="/console/approvals")
    assert page.get_by_role("heading", name=re.compile("^Policy versions")).count() == 0
    assert console.problems() == []
