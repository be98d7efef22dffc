"""The okrgov command line: tokens that verify, the demo, rebuilds, the policy tests."""

from pathlib import Path
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from infra.config import Settings
from infra.tokens import InvalidToken
from policies.bundle import SHIPPED_BUNDLE_DIR
from services.bootstrap import PROJECTIONS, build
from services.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OKRGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OKRGOV_SECRET_KEY", "cli-test-secret-of-enough-length-for-hs256!")
    monkeypatch.setenv("OKRGOV_LOG_LEVEL", "WARNING")
    return tmp_path


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


def test_demo_then_rebuild_and_a_second_demo_is_refused() -> None:
    loaded = runner.invoke(app, ["demo"])
    assert loaded.exit_code == 0, loaded.output
    assert "demo quarter loaded" in loaded.stdout
    again = runner.invoke(app, ["demo"])
    assert again.exit_code == 1
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


def test_policy_test_passes_the_shipped_bundle() -> None:
    result = runner.invoke(app, ["policy", "test"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(" passed, 0 failed")


def test_policy_test_reports_a_failing_rego_test(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for source in SHIPPED_BUNDLE_DIR.iterdir():
        (bundle / source.name).write_text(source.read_text())
    tests = bundle / "guardrails_test.rego"
    tests.write_text(
        tests.read_text()
        + "\ntest_a_risk_officer_got_wrong if {\n\tcount(data.okrgov.guardrails.deny) == 99\n}\n"
    )
    result = runner.invoke(app, ["policy", "test", str(bundle)])
    assert result.exit_code == 1
    assert "FAIL data.okrgov.guardrails_test.test_a_risk_officer_got_wrong" in result.stdout


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
