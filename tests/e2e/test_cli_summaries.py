"""Each ``okrgov`` command ends with one line saying what it did, and draws no progress
bar when nobody watches (a pipe, a test's capture): ``audit export``, ``verify`` (and its
hint when the store has no signed checkpoint yet), ``projections rebuild``, ``token
create`` (the token alone on stdout), and ``projector`` as it runs, not only when stopped."""

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest
from process_lines import last_line_when_stopped, read_lines_until
from quarter import plan_quarter
from typer.testing import CliRunner

from infra.config import Settings
from services.bootstrap import build
from services.cli.integrity import NO_CHECKPOINT_HINT
from services.cli.main import app

runner = CliRunner()
OKRGOV = str(Path(sys.executable).parent / "okrgov")
BAR = ("━", "\r")  # what a rich progress bar would leave in a capture


@pytest.fixture(autouse=True)
def quarter(cli_environment: Path) -> int:
    """A planned quarter in the command line's store; its head position."""
    platform = build(Settings())
    try:
        plan_quarter(platform)
        return platform.ledger.recorder.max_notification_id() or 0
    finally:
        platform.close()


def test_audit_export_says_how_many_rows_went_where(tmp_path: Path) -> None:
    out = tmp_path / "trail.jsonl"
    written = runner.invoke(app, ["audit", "export", "--format", "jsonl", "-o", str(out)])
    assert written.exit_code == 0, written.output
    rows = out.read_text().splitlines()
    assert len(rows) > 3
    assert written.stderr.strip().splitlines()[-1] == f"{len(rows)} rows to {out}"
    assert not any(mark in written.stderr for mark in BAR)

    actor = json.loads(rows[-1])["actor"]
    printed = runner.invoke(app, ["audit", "export", "--format", "jsonl", "--actor", actor])
    assert printed.exit_code == 0, printed.output
    theirs = printed.stdout.splitlines()
    assert 0 < len(theirs) < len(rows)
    assert printed.stderr.strip().splitlines()[-1] == f"{len(theirs)} rows to stdout"


@pytest.mark.parametrize(
    ("where", "said"),
    [("missing/trail.csv", "does not exist"), (".", "is a directory; name a file")],
)
def test_audit_export_refuses_a_file_it_cannot_write_before_reading(
    tmp_path: Path, where: str, said: str
) -> None:
    out = str(tmp_path / where)
    # Wide enough that rich's error box does not wrap the long temporary path.
    refused = runner.invoke(
        app, ["audit", "export", "--format", "csv", "-o", out], env={"COLUMNS": "400"}
    )
    assert refused.exit_code == 2, refused.output
    assert "--output" in refused.stderr and said in refused.stderr
    assert "Traceback" not in refused.output and "rows to" not in refused.stderr
    assert not (tmp_path / "missing").exists()


def test_verify_says_how_to_sign_a_checkpoint_until_there_is_one(quarter: int) -> None:
    unsigned = runner.invoke(app, ["verify"])
    assert unsigned.exit_code == 0, unsigned.output
    assert unsigned.stdout.startswith(f"intact up to position {quarter} ")
    assert NO_CHECKPOINT_HINT in unsigned.stderr
    assert "okrgov checkpoint" in NO_CHECKPOINT_HINT
    assert not any(mark in unsigned.stderr for mark in BAR)

    signed = runner.invoke(app, ["checkpoint"])
    assert signed.exit_code == 0, signed.output
    assert signed.stdout.startswith("checkpoint recorded at position ")
    verified = runner.invoke(app, ["verify"])
    assert verified.exit_code == 0, verified.output
    assert "1 signed checkpoints verified" in verified.stdout
    assert NO_CHECKPOINT_HINT not in verified.stderr


def test_projections_rebuild_ends_with_what_it_rebuilt(quarter: int) -> None:
    rebuilt = runner.invoke(app, ["projections", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    views = rebuilt.stdout.strip().splitlines()
    last = rebuilt.stderr.strip().splitlines()[-1]
    assert last == f"rebuilt {len(views)} views from the store, up to position {quarter}"
    assert not any(mark in rebuilt.stderr for mark in BAR)


def test_projections_run_until_caught_up_says_how_far_the_views_got(quarter: int) -> None:
    caught_up = runner.invoke(app, ["projections", "run", "--until-caught-up"])
    assert caught_up.exit_code == 0, caught_up.output
    assert caught_up.stdout.strip() == (
        f"caught up: applied events up to position {quarter} of {quarter} "
        f"({quarter} positions since it started)"
    )


def test_token_create_prints_only_the_token_on_stdout() -> None:
    issued = runner.invoke(app, ["token", "create", "--user", "ana", "--role", "risk_officer"])
    assert issued.exit_code == 0, issued.output
    assert len(issued.stdout.split()) == 1  # what $(okrgov token create ...) captures
    assert "token " in issued.stderr and " for ana (risk_officer)" in issued.stderr


def test_the_projector_says_what_it_applied_while_it_runs_and_when_stopped(
    quarter: int,
) -> None:
    run = subprocess.Popen(
        [OKRGOV, "projector", "--summary-every", "0.2"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        said = read_lines_until(run, "projector: applied", timeout=60)
        # Caught up at once, from nothing (the quarter was recorded with no view following);
        # starting, the projector recorded its signing key, an event after the quarter.
        caught_up = re.fullmatch(
            r"projector: applied events up to position (\d+) of \1 \(\1 positions since "
            r"it started\)",
            said[-1],
        )
        assert caught_up, said[-1]
        assert int(caught_up[1]) >= quarter
        assert run.poll() is None  # said while running
        last = last_line_when_stopped(run)
    finally:
        if run.poll() is None:
            run.kill()
    assert last == said[-1]  # and once more when stopped


def on_a_terminal(*args: str) -> tuple[int, str]:
    """Run ``okrgov`` with stderr on a pseudo-terminal: its exit code and what it drew."""
    main, child = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    run = subprocess.Popen([OKRGOV, *args], stdout=subprocess.DEVNULL, stderr=child, env=env)
    os.close(child)
    drawn = b""
    try:
        while True:
            try:
                ready, _, _ = select.select([main], [], [], 60)
                chunk = os.read(main, 65536) if ready else b""
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(main)
    return run.wait(timeout=60), drawn.decode("utf-8", "replace")


def test_a_terminal_sees_a_progress_bar_then_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "trail.csv"
    code, drawn = on_a_terminal("audit", "export", "--format", "csv", "-o", str(out))
    assert code == 0, drawn
    assert "exporting" in drawn and "━" in drawn  # the bar, drawn then cleared
    assert drawn.rstrip().endswith(f"rows to {out}")

    code, drawn = on_a_terminal("verify")
    assert code == 0, drawn
    assert "verifying" in drawn and "━" in drawn
    assert NO_CHECKPOINT_HINT in drawn

    code, drawn = on_a_terminal("projections", "rebuild")
    assert code == 0, drawn
    assert "━" in drawn
    assert "rebuilt " in drawn.splitlines()[-1]
