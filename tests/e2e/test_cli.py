"""The okrgov command line: tokens that verify, the demo, rebuilds, the policy tests."""

from pathlib import Path
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from infra.config import Settings
from infra.tokens import InvalidToken
from policies import opa_golib
from policies.bundle import SHIPPED_BUNDLE_DIR
from services.bootstrap import PROJECTIONS, build
from services.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(cli_environment: Path) -> Path:
    return cli_environment


def test_token_create_prints_a_token_the_platform_accepts() -> None:
    result = runner.invoke(app, ["token", "create", "--user", "ana", "--role", "risk_officer"])
    assert result.exit_code == 0, result.output
    platform = build(Settings())
    try:
        principal = platform.tokens.authenticate(result.stdout.strip())
    finally:
        platform.close()
    assert (principal.user, {r.value for r in principal.roles}) == ("ana", {"risk_officer"})


def test_token_create_refuses_an_unknown_role() -> None:
    result = runner.invoke(app, ["token", "create", "--user", "ana", "--role", "superuser"])
    assert result.exit_code == 2


def test_demo_then_rebuild_and_a_second_demo_adds_nothing() -> None:
    loaded = runner.invoke(app, ["demo"])
    assert loaded.exit_code == 0, loaded.output
    lines = loaded.stdout.splitlines()
    cycles = next(line for line in lines if line.startswith("cycles loaded: "))
    names = cycles.removeprefix("cycles loaded: ").split(", ")
    assert len(names) == 2
    assert any(line.startswith(f"sealed {names[0]}: snapshot digest ") for line in lines)
    loaded_head = _head()
    # A store with cycles: refused, and --force finds both quarters there, so adds nothing.
    again = runner.invoke(app, ["demo"])
    assert again.exit_code == 1 and "--force" in again.output
    forced = runner.invoke(app, ["demo", "--force"])
    assert forced.exit_code == 0, forced.output
    assert forced.stdout.startswith(f"nothing loaded: the store already has {', '.join(names)}")
    assert _head() == loaded_head
    rebuilt = runner.invoke(app, ["projections", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    counts = dict(line.split(": ") for line in rebuilt.stdout.strip().splitlines())
    assert set(counts) == {p.name for p in PROJECTIONS}
    # Every view replays the whole store and is switched in at its end.
    platform = build(Settings())
    try:
        head = platform.ledger.recorder.max_notification_id()
    finally:
        platform.close()
    replayed = {line.split(" events replayed")[0] for line in counts.values()}
    assert replayed == {str(head)}
    assert all(line.endswith(f"switched in at position {head}") for line in counts.values())


def _head() -> int | None:
    platform = build(Settings())
    try:
        return platform.ledger.recorder.max_notification_id()
    finally:
        platform.close()


#: The lines of each engine's counts ("embedded: 99 passed, 0 failed").
ENGINE_COUNTS = ("embedded: ", "opa: ")


def test_policy_test_passes_the_shipped_bundle_under_both_engines() -> None:
    result = runner.invoke(app, ["policy", "test"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    counts = {line.split(": ")[0]: line for line in lines if line.startswith(ENGINE_COUNTS)}
    assert set(counts) == {"embedded", "opa"}
    assert all(line.endswith(" passed, 0 failed") for line in counts.values())
    assert counts["opa"] != "opa: 0 passed, 0 failed"  # OPA ran the tests
    assert lines[-1].endswith(" passed, 0 failed")
    assert not [line for line in lines if line.startswith("FAIL")]


def bundle_copy(tmp_path: Path) -> Path:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for source in SHIPPED_BUNDLE_DIR.iterdir():
        (bundle / source.name).write_text(source.read_text())
    return bundle


def test_policy_test_reports_a_failing_rego_test(tmp_path: Path) -> None:
    bundle = bundle_copy(tmp_path)
    tests = bundle / "guardrails_test.rego"
    tests.write_text(
        tests.read_text()
        + "\ntest_a_risk_officer_got_wrong if {\n\tcount(data.okrgov.guardrails.deny) == 99\n}\n"
    )
    result = runner.invoke(app, ["policy", "test", str(bundle)])
    assert result.exit_code == 1
    name = "data.okrgov.guardrails_test.test_a_risk_officer_got_wrong"
    assert f"FAIL {name} under embedded: undefined, not true" in result.stdout
    assert f"FAIL {name} under opa: undefined, not true" in result.stdout
    assert f"PASS {name}" not in result.stdout
    assert result.stdout.strip().endswith(" passed, 1 failed")


# Passes under regorus, fails under OPA: OPA lowers "İ" (U+0130) to a plain "i".
DIVERGING_TEST = """package okrgov.diverging_test

import rego.v1

test_lower_dotted_capital_i if lower("\u0130") == "i\u0307"
"""


def test_policy_test_names_the_engine_a_test_fails_under(tmp_path: Path) -> None:
    bundle = bundle_copy(tmp_path)
    (bundle / "diverging_test.rego").write_text(DIVERGING_TEST, encoding="utf-8")
    name = "data.okrgov.diverging_test.test_lower_dotted_capital_i"

    both = runner.invoke(app, ["policy", "test", str(bundle)])
    assert both.exit_code == 1, both.output
    assert f"FAIL {name} under opa: undefined, not true" in both.stdout
    assert f"FAIL {name} under embedded" not in both.stdout
    assert f"PASS {name}" not in both.stdout
    counts = [line for line in both.stdout.splitlines() if line.startswith(ENGINE_COUNTS)]
    assert counts[0].startswith("embedded: ") and counts[0].endswith(" passed, 0 failed")
    assert counts[1].startswith("opa: ") and counts[1].endswith(" passed, 1 failed")

    embedded = runner.invoke(app, ["policy", "test", str(bundle), "--engine", "embedded"])
    assert embedded.exit_code == 0, embedded.output
    assert f"PASS {name}" in embedded.stdout
    assert "opa: " not in embedded.stdout

    opa = runner.invoke(app, ["policy", "test", str(bundle), "--engine", "opa"])
    assert opa.exit_code == 1, opa.output
    assert f"FAIL {name} under opa: undefined, not true" in opa.stdout
    assert "embedded: " not in opa.stdout


def test_policy_test_without_opas_evaluator_says_so_and_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(opa_golib, "available", lambda: False)
    both = runner.invoke(app, ["policy", "test"])
    assert both.exit_code == 1, both.output
    assert f"opa: unavailable ({opa_golib.INSTALL_HINT})" in both.stdout
    assert "FAIL" not in both.stdout  # every check that ran passed; OPA's did not run
    embedded = runner.invoke(app, ["policy", "test", "--engine", "embedded"])
    assert embedded.exit_code == 0, embedded.output
    assert "unavailable" not in embedded.stdout


def test_token_create_canonicalises_the_user_and_says_so() -> None:
    result = runner.invoke(
        app, ["token", "create", "--user", " Tom ", "--role", "member", "--by", "Sam"]
    )
    assert result.exit_code == 0, result.output
    assert "--user ' Tom ' is the user id 'tom'" in result.stderr
    assert "issued by sam" in result.stderr
    platform = build(Settings())
    try:
        assert platform.tokens.authenticate(result.stdout.strip()).user == "tom"
    finally:
        platform.close()


@pytest.mark.parametrize("user", ["", "   ", "pri ya", "priya\u200b"])
def test_token_create_refuses_what_is_no_user_id(user: str) -> None:
    result = runner.invoke(app, ["token", "create", "--user", user, "--role", "member"])
    assert result.exit_code == 2
    assert "user id" in result.output
    assert result.stdout == ""


def test_token_revoke_by_user_and_list() -> None:
    tokens = [
        runner.invoke(app, ["token", "create", "--user", "tom", "--role", "member"]).stdout
        for _ in range(2)
    ]
    listed = runner.invoke(app, ["token", "list", "--user", "TOM", "--live"])
    assert listed.exit_code == 0 and listed.stdout.count(" live") == 2
    revoked = runner.invoke(
        app, ["token", "revoke", "--user", "tom", "--reason", "left the firm", "--by", "sam"]
    )
    assert revoked.exit_code == 0, revoked.output
    assert "2 live token(s) of tom revoked" in revoked.stdout
    assert runner.invoke(app, ["token", "list", "--live"]).stdout == ""
    platform = build(Settings())
    try:
        for token in tokens:
            with pytest.raises(InvalidToken, match="revoked by sam"):
                platform.tokens.authenticate(token.strip())
    finally:
        platform.close()
    again = runner.invoke(app, ["token", "revoke", "--id", str(uuid4()), "--reason", "x"])
    assert again.exit_code == 1 and "no token" in again.stderr


def test_stream_status_and_compare_never_make_a_database_to_read(tmp_path: Path) -> None:
    views = tmp_path / "views.sqlite"
    for command in (["stream", "status"], ["projections", "compare"]):
        missing = runner.invoke(app, [*command, "--views-url", f"sqlite:///{views}"])
        assert missing.exit_code == 2
        assert f"no store at {tmp_path / 'okrgov.sqlite'}" in missing.stderr
    build(Settings()).close()  # the store now exists, the views do not
    missing = runner.invoke(app, ["stream", "status", "--views-url", f"sqlite:///{views}"])
    assert missing.exit_code == 2
    assert f"no views at {views}" in missing.stderr
    assert not views.exists()
