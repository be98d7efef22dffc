"""The policy desk in Chromium: Ana's journey (JOURNEYS.md). Ana, chief risk officer,
proposes a version lowering the risk appetite for "investment", runs the what-if on the
current cycle and sees the key results it would newly deny side by side; her deputy Kofi
approves it; the history shows it active with both names and its digest. A Rego syntax
error is refused at proposal with its line beside the module; the proposer sees no
approve button. What-ifs and proposal checks take seconds: those steps wait longer."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from console_pages import ConsolePage, ConsoleSite, assert_accessible

from policies.bundle import load_shipped_bundle
from policies.divergence_job import not_checked
from projections.queries import GovernanceQueries, OkrQueries
from projections.runner import GOVERNANCE, OKR_STATE
from services.application.principals import Principal

#: Proposal checks and what-ifs run the policy's tests and both versions (seconds).
SLOW_MS = 90_000
TESTS = "guardrails_test.rego (tests)"


def _active(site: ConsoleSite) -> dict:
    return GovernanceQueries(site.platform.projections.view(GOVERNANCE)).active_policy()


def _newly_denied(site: ConsoleSite, cycle_id: str, old: int, new: int) -> set[tuple[str, str]]:
    """The live key results of the cycle the lower appetite denies: (title, owner name)."""
    okr = OkrQueries(site.platform.projections.view(OKR_STATE))
    names = site.platform.names
    return {
        (kr["title"], names.get(kr["owner"], kr["owner"]))
        for objective in okr.objectives(cycle_id)  # type: ignore[arg-type]
        if objective["status"] != "retired"
        for kr in objective["key_results"]
        if kr["status"] != "retired"
        and kr.get("risk_domain") == "investment"
        and new < (kr.get("risk_rating") or 0) <= old
    }


def test_ana_lowers_the_investment_appetite_and_kofi_approves(
    site: ConsoleSite, console: ConsolePage
) -> None:
    page = console.sign_in_as("ana", then="/console/policies")
    assert_accessible(page)
    before = _active(site)
    old = before["data"]["risk_appetite"]["investment"]
    new = old - 1
    page.get_by_role("link", name="Propose a new version").click()
    page.wait_for_url("**/console/policies/new")
    assert_accessible(page)

    data = page.get_by_label("data.json")
    values = json.loads(data.input_value())
    assert values == before["data"]  # the form starts from the active version
    values["risk_appetite"]["investment"] = new
    data.fill(json.dumps(values, indent=2))
    page.get_by_label("Description (why this version)").fill(
        f"The board lowered the investment risk appetite from {old} to {new}"
    )
    page.get_by_role("button", name="Propose this version").click()
    # Her own tests still say the old appetite: refused, naming the test beside its module.
    refusal = page.get_by_role("alert")
    refusal.wait_for(timeout=SLOW_MS)
    assert "policy_test_failed" in refusal.inner_text()
    tests_box = page.get_by_label(TESTS)
    beside = page.locator(f"#{tests_box.get_attribute('aria-describedby')}")
    assert "test_rating_at_appetite_is_allowed" in beside.inner_text()
    assert (
        json.loads(page.get_by_label("data.json").input_value())["risk_appetite"]["investment"]
        == new
    )
    assert_accessible(page)
    # She updates them to the new appetite and proposes again.
    text = tests_box.input_value()
    updated = text.replace(
        f'"investment", "risk_rating": {old}', f'"investment", "risk_rating": {new}'
    ).replace(
        f"data.risk_appetite.investment as {new}", f"data.risk_appetite.investment as {new - 1}"
    )
    assert updated != text
    tests_box.fill(updated)
    page.get_by_role("button", name="Propose this version").click()
    page.wait_for_url(re.compile(r"/console/policies/[0-9a-f-]{36}$"), timeout=SLOW_MS)
    version_url = page.url
    number = before["number"] + 1
    assert page.get_by_role("heading", name=f"Policy version {number}").is_visible()
    assert page.get_by_text("Version proposed").is_visible()
    # Four eyes: no approve button for the proposer.
    assert page.get_by_role("button", name=re.compile("^Approve")).count() == 0
    assert page.get_by_text("You proposed this version").is_visible()
    assert_accessible(page)

    # The readable diff against the active version: the data key, before and after.
    page.get_by_role("button", name="Show the changes").click()
    row = page.locator("table.data-diff tbody tr", has_text="risk_appetite.investment")
    row.wait_for()
    assert row.locator("td").all_inner_texts() == ["changed", str(old), str(new)]
    assert "guardrails_test.rego: changed" in page.locator("#diff").inner_text()

    # The what-if on the current cycle, side by side.
    cycle = str(site.cycle_id("current"))
    page.get_by_label("Cycle").select_option(cycle)
    page.get_by_role("button", name="Run what-if").click()
    page.locator(".whatif-summary").wait_for(timeout=SLOW_MS)
    denied = page.get_by_role("table", name="Newly denied")
    rows = {
        (cells[0], cells[1])
        for cells in (r.locator("td").all_inner_texts() for r in denied.locator("tbody tr").all())
        if cells[-1] == "risk_appetite"
    }
    expected = _newly_denied(site, cycle, old, new)
    assert expected and rows == expected
    link = denied.get_by_role("link").first
    assert re.search(r"/console/key-results/[0-9a-f-]{36}$", link.get_attribute("href") or "")
    assert page.get_by_role("table", name="No longer denied or warned").is_visible()
    assert_accessible(page)

    # Kofi, her deputy, approves.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/sign-in**")
    console.sign_in_as("kofi", then=version_url.removeprefix(site.base))
    if page.get_by_label(re.compile("I acknowledge")).count():
        page.get_by_label(re.compile("I acknowledge")).check()
        page.get_by_label(re.compile("Why it is acceptable")).fill("reviewed the divergence report")
    page.get_by_role("button", name=f"Approve version {number}").click()
    page.get_by_text("Version approved").wait_for()
    assert_accessible(page)

    console.goto("/console/policies")
    after = _active(site)
    assert after["number"] == number and after["data"]["risk_appetite"]["investment"] == new
    row = page.locator(f'tr[data-version="{number}"]')
    assert row.locator("td").nth(0).inner_text() == "active"
    assert row.locator("td.proposer").inner_text().startswith("Ana Sousa")
    assert row.locator("td.approver").inner_text().startswith("Kofi Mensah")
    assert row.locator("code.digest").inner_text() == after["digest"]
    previous = page.locator(f'tr[data-version="{before["number"]}"]')
    assert previous.locator("td").nth(0).inner_text() == f"superseded by version {number}"
    assert_accessible(page)
    assert console.problems() == []


def test_a_rego_syntax_error_is_refused_with_its_line(
    site: ConsoleSite, console: ConsolePage
) -> None:
    page = console.sign_in_as("ana", then="/console/policies/new")
    versions = len(GovernanceQueries(site.platform.projections.view(GOVERNANCE)).policies())
    module = page.get_by_label("guardrails.rego", exact=True)
    lines = module.input_value().split("\n")
    broken_line = 7
    lines.insert(broken_line - 1, "deny contains violation( if {")
    module.fill("\n".join(lines))
    page.get_by_label("Description (why this version)").fill("a broken rule")
    page.get_by_role("button", name="Propose this version").click()
    page.get_by_role("alert").wait_for(timeout=SLOW_MS)
    assert "policy_compile_error" in page.get_by_role("alert").inner_text()
    beside = page.locator(f"#{module.get_attribute('aria-describedby')}")
    assert beside.inner_text().startswith(f"Line {broken_line}:")
    assert module.get_attribute("aria-invalid") == "true"
    assert page.get_by_label("guardrails.rego", exact=True).input_value() == "\n".join(lines)
    assert len(GovernanceQueries(site.platform.projections.view(GOVERNANCE)).policies()) == versions
    assert_accessible(page)
    assert console.problems() == []


@contextmanager
def _signed_in(site: ConsoleSite, user: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.base, timeout=SLOW_MS / 1000) as client:
        token = _csrf(client.get("/console/sign-in").text)
        client.post("/console/sign-in/demo", data={"user": user, "csrftoken": token})
        yield client


def _csrf(page: str) -> str:
    return page.split('name="csrftoken" value="')[1].split('"')[0]


def _proposal_fields(page: str) -> dict[str, str]:
    """The edit form's fields as the page fills them (the active version's)."""
    fields = dict(
        re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S)
    )
    return {name: html.unescape(text) for name, text in fields.items()}


def test_the_proposer_who_approves_anyway_is_refused_and_no_js_runs_the_what_if(
    site: ConsoleSite,
) -> None:
    """Without the button, a post by the proposer is still refused by the command (four
    eyes), shown on the page; the what-if form works without JavaScript (a whole page)."""
    with _signed_in(site, "ana") as ana:
        form = ana.get("/console/policies/new").text
        fields = {"csrftoken": _csrf(form), **_proposal_fields(form), "description": "unchanged"}
        proposed = ana.post("/console/policies", data=fields)
        assert proposed.status_code == 303, proposed.text
        version = proposed.headers["location"]
        page = ana.get(version).text
        refused = ana.post(f"{version}/approve", data={"csrftoken": _csrf(page)})
        assert refused.status_code == 409
        assert 'role="alert"' in refused.text and "Refused (409" in refused.text
        assert (
            GovernanceQueries(site.platform.projections.view(GOVERNANCE)).policy(
                version.rsplit("/", 1)[1]  # type: ignore[arg-type]
            )["status"]
            == "proposed"
        )
        whatif = ana.post(
            f"{version}/simulate",
            data={"csrftoken": _csrf(page), "cycle_id": str(site.cycle_id("current"))},
        )
        assert whatif.status_code == 200
        assert "<h1>Policy version" in whatif.text and 'aria-label="Newly denied"' in whatif.text
        assert "would change" in whatif.text


def test_uploaded_files_replace_the_modules_and_data(site: ConsoleSite) -> None:
    with _signed_in(site, "ana") as ana:
        form = ana.get("/console/policies/new").text
        data = json.loads(_proposal_fields(form)["data"])
        data["risk_appetite"]["market"] = 2
        answer = ana.post(
            "/console/policies",
            files=[
                ("csrftoken", (None, _csrf(form))),
                ("description", (None, "market appetite from a file")),
                ("files", ("data.json", json.dumps(data).encode(), "application/json")),
            ],
        )
        assert answer.status_code == 303, answer.text
        proposed = ana.get(answer.headers["location"]).text
        assert "market appetite from a file" in proposed


def test_a_version_whose_engines_were_not_compared_needs_the_box_ticked(
    site: ConsoleSite, console: ConsolePage
) -> None:
    """Say OPA's evaluator was missing where it was proposed: the approver must tick the
    acknowledgement and say why; without it the command refuses (409), shown on the page."""
    unchecked = not_checked("OPA's Go evaluator is not installed", {"size": 0, "seed": 0})
    recorded = site.platform.ledger.record_proposal(
        Principal.of("ana", ["risk_officer"]),
        load_shipped_bundle(),
        "shipped, unchecked",
        unchecked,
    )
    site.platform.wrote("kofi", recorded.position)  # Kofi's pages wait for it
    page = console.sign_in_as("kofi", then=f"/console/policies/{recorded.id}")
    assert (
        "not compared: OPA's Go evaluator is not installed" in page.locator("dl.facts").inner_text()
    )
    assert page.get_by_label(re.compile("I acknowledge")).is_visible()
    page.get_by_role("button", name=re.compile("^Approve version")).click()
    alert = page.get_by_role("alert")
    assert "Refused (409 divergence_not_acknowledged)" in alert.inner_text()
    assert_accessible(page)
    page.get_by_label(re.compile("I acknowledge")).check()
    page.get_by_label(re.compile("Why it is acceptable")).fill("known gap on this host")
    page.get_by_role("button", name=re.compile("^Approve version")).click()
    page.get_by_text("Version approved").wait_for()
    facts = page.locator("dl.facts").inner_text()
    assert "acknowledged by Kofi Mensah: known gap on this host" in facts
    assert console.problems() == []
