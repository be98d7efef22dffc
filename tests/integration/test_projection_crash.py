"""A projection worker killed with SIGKILL in the middle of a catch-up resumes from its
recorded position: no event is missed and none is applied twice. Both backends."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from quarter import TOM, plan_quarter

from infra.config import Settings
from services.bootstrap import build

CHECK_INS = 600
OKRGOV = str(Path(sys.executable).parent / "okrgov")


def _worker_env(settings: Settings) -> dict[str, str]:
    env = {
        **os.environ,
        "OKRGOV_DATA_DIR": str(settings.data_dir),
        "OKRGOV_SECRET_KEY": settings.secret_key or "",
        "OKRGOV_LOG_LEVEL": "WARNING",
    }
    if settings.database_url:
        env["OKRGOV_DATABASE_URL"] = settings.database_url
        env["OKRGOV_DATABASE_SCHEMA"] = settings.database_schema or ""
    return env


def test_a_killed_worker_resumes_exactly_once(settings: Settings) -> None:
    platform = build(settings)
    try:
        _, _, key_result = plan_quarter(platform)
        for week in range(CHECK_INS):
            platform.ledger.check_in(TOM, key_result.id, 15 - week % 7, 0.5, f"check-in {week}")
        end = platform.ledger.recorder.max_notification_id()
        view = platform.okr_state
        assert view.position() == 0

        # Small batches make the catch-up long enough to be killed in the middle of it.
        run = [OKRGOV, "projections", "run", "--until-caught-up", "--batch-size", "5"]
        worker = subprocess.Popen(run, env=_worker_env(settings))
        deadline = time.monotonic() + 60
        while view.position() == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        killed_at = view.position()
        assert 0 < killed_at < end, "the worker was not killed in the middle of its catch-up"

        resumed = subprocess.run(run, env=_worker_env(settings), timeout=120, check=True)
        assert resumed.returncode == 0
        assert view.position() == end
        doc = view.get("key_result", str(key_result.id))
        assert doc is not None
        assert doc["check_in_count"] == CHECK_INS  # a repeat would count more, a gap fewer
        views = platform.followers.values()
        resumed_rows = {f.projection.name: f.view.dump() for f in views}
        assert all(f.view.position() == end for f in views)
        platform.rebuild()
        assert {f.projection.name: f.view.dump() for f in views} == resumed_rows
    finally:
        platform.close()
