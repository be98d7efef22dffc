"""``okrgov decisions replay`` over a SQLite store: every decision agrees (exit 0); an input
edited in the stored row is named as failing its digest (exit 1); a decision OPA's
evaluator now answers otherwise than the engine that recorded it is named with what
differs (exit 1); --since and --until select by the decisions' time; bad times exit 2."""

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from okr_builders import definition
from quarter import EXEC, RAJ, RITA, plan_quarter
from typer.testing import CliRunner

from infra.config import Settings
from policies import opa_golib
from policies.bundle import PolicyBundle
from services.application.errors import GuardrailViolation
from services.application.recorded_decisions import RecordedDecision, recorded_decisions
from services.bootstrap import Platform, build
from services.cli.main import app

runner = CliRunner()

#: Rego's lower() of a dotted capital I: "i̇" (i and a combining dot) in regorus, as in
#: Python and Rust; "i" in OPA, as in Go. A rule that reads it decides otherwise.
DOTTED_I_RULE = """\
package okrgov.guardrails

import rego.v1

deny contains {"rule": "no_istanbul", "message": "Not in Istanbul."} if {
	contains(lower(input.resource.after.title), "istanbul")
}
"""


@pytest.fixture(autouse=True)
def isolated(cli_environment: Path) -> Path:
    return cli_environment


@pytest.fixture
def platform() -> Iterator[Platform]:
    platform = build(Settings())
    try:
        yield platform
    finally:
        platform.close()


def _quarter(platform: Platform) -> list[RecordedDecision]:
    """A planned quarter and a denied attempt; its decisions."""
    _, objective, _ = plan_quarter(platform)
    with pytest.raises(GuardrailViolation):
        platform.ledger.add_key_result(
            EXEC, objective.id, definition(title="Bonus pool KR", pay_linked=True)
        )
    return list(recorded_decisions(platform.ledger))


def _replay(*options: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["decisions", "replay", "--json", *options])
    assert result.exit_code in (0, 1), result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return result.exit_code, report


def test_every_decision_agrees(platform: Platform) -> None:
    decisions = _quarter(platform)
    result = runner.invoke(app, ["decisions", "replay", "--engine", "embedded"])
    assert result.exit_code == 0, result.output
    assert f"decisions considered: {len(decisions)}" in result.stdout
    assert f"replayed under embedded: {len(decisions)} ({len(decisions)} agree, 0 differ)" in (
        result.stdout
    )
    assert "replaying decisions up to position" in result.stderr  # progress, apart
    code, report = _replay("--engine", "embedded")
    assert code == 0
    assert (report["considered"], report["differences"], report["tampered"]) == (
        len(decisions),
        [],
        [],
    )


def test_an_input_edited_in_the_stored_row_is_named_and_exits_1(
    platform: Platform, isolated: Path
) -> None:
    target = _quarter(platform)[1]
    conn = sqlite3.connect(isolated / "okrgov.sqlite")
    try:
        [(raw,)] = conn.execute(
            "SELECT state FROM stored_events WHERE rowid = ?", (target.position,)
        )
        state = json.loads(raw)
        state["input"]["actor"]["id"] = "sam"  # someone else, after the fact
        conn.execute("DROP TRIGGER IF EXISTS stored_events_refuse_update")
        conn.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = ?",
            (json.dumps(state).encode(), target.position),
        )
        conn.commit()
    finally:
        conn.close()

    result = runner.invoke(app, ["decisions", "replay", "--engine", "embedded"])
    assert result.exit_code == 1, result.output
    assert "input digest mismatches: 1" in result.stdout
    [line] = [line for line in result.stdout.splitlines() if line.startswith("TAMPERED")]
    assert str(target.id) in line and target.action in line and "digest" in line
    code, report = _replay("--engine", "embedded")
    assert code == 1
    assert report["input_digest_mismatches"] == 1
    assert [t["decision_id"] for t in report["tampered"]] == [str(target.id)]


@pytest.mark.skipif(not opa_golib.available(), reason=opa_golib.INSTALL_HINT)
def test_a_decision_opa_now_answers_otherwise_is_named_with_what_differs(
    platform: Platform,
) -> None:
    ledger = platform.ledger
    _, objective, _ = plan_quarter(platform)
    version = ledger.record_proposal(
        RITA, PolicyBundle({"guardrails.rego": DOTTED_I_RULE}, {}), "no Istanbul"
    )
    ledger.approve_policy(RAJ, version.id)
    ledger.add_key_result(EXEC, objective.id, definition(title="\u0130stanbul office opening"))
    ledger.add_key_result(EXEC, objective.id, definition(title="Fund admin errors"))
    under_v2 = [d for d in recorded_decisions(ledger) if d.policy_version == 2]
    assert [d.answer.outcome for d in under_v2] == ["allowed", "allowed"]  # as regorus said
    since = under_v2[0].at.isoformat()

    code, report = _replay("--engine", "embedded", "--since", since)
    assert (code, report["considered"], report["differences"]) == (0, 2, [])
    code, report = _replay("--engine", "opa", "--since", since)
    assert code == 1
    assert (report["considered"], report["differing"], report["agreeing"]) == (
        2,
        {"opa": 1},
        {"opa": 1},
    )
    [difference] = report["differences"]
    assert difference["decision_id"] == str(under_v2[0].id)
    assert (difference["engine"], difference["differs_in"]) == ("opa", ["outcome", "deny"])
    assert difference["outcome"] == {"recorded": "allowed", "now": "denied"}
    assert difference["deny"]["only_now"] == [
        {"rule": "no_istanbul", "message": "Not in Istanbul."}
    ]

    result = runner.invoke(app, ["decisions", "replay", "--engine", "opa", "--since", since])
    assert result.exit_code == 1
    [line] = [line for line in result.stdout.splitlines() if line.startswith("DIFFERS")]
    assert str(under_v2[0].id) in line and "under opa" in line
    assert "outcome allowed recorded, denied now" in line
    assert "deny only now: no_istanbul: Not in Istanbul." in line


def test_since_and_until_select_the_decisions_and_bad_times_exit_2(platform: Platform) -> None:
    decisions = _quarter(platform)
    middle = decisions[2].at.isoformat()
    _, later = _replay("--engine", "embedded", "--since", middle)
    _, earlier = _replay("--engine", "embedded", "--until", middle)
    assert (later["considered"], earlier["considered"]) == (len(decisions) - 2, 2)
    _, between = _replay("--engine", "embedded", "--since", decisions[1].at.isoformat(),
                         "--until", middle)  # fmt: skip
    assert between["considered"] == 1

    for options in (["--since", "last tuesday"], ["--since", middle, "--until", middle]):
        refused = runner.invoke(app, ["decisions", "replay", "--engine", "embedded", *options])
        assert refused.exit_code == 2
        assert "--since" in refused.output or "--until" in refused.output
        assert refused.stdout == ""
