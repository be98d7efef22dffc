"""The okrgov command line: tokens that verify, the demo, rebuilds, the policy tests."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.config import Settings
from policies.bundle import SHIPPED_BUNDLE_DIR
from services.bootstrap import PROJECTIONS, build
from services.cli import app

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
        claims = platform.tokens.verify(result.stdout.strip())
    finally:
        platform.close()
    assert (claims.user, claims.roles) == ("ana", ("risk_officer",))


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
    assert len(set(counts.values())) == 1  # every view replays the whole store
    assert counts["okr_state"] != "0 events applied"


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
        + "\ntest_a_risk_officer_got_wrong if {\n\tcount(guardrails.deny) == 99\n}\n"
    )
    result = runner.invoke(app, ["policy", "test", str(bundle)])
    assert result.exit_code == 1
    assert "FAIL data.okrgov.guardrails_test.test_a_risk_officer_got_wrong" in result.stdout
