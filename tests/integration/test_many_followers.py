"""Any number of processes follow one store into the same views, and every event is
applied exactly once; a rebuild run beside them never lets anyone read a partial view.
Real ``okrgov`` processes (not threads), on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from okr_builders import definition
from processes import OKRGOV, processes, settings_env
from quarter import EXEC, TOM, plan_quarter

from infra.config import Settings
from infra.persistence import store_lock
from services.bootstrap import PROJECTIONS, Platform

FOLLOWERS = 3
WRITERS = 4
CHECK_INS = 50


def _views(platform: Platform) -> dict[str, Any]:
    """Every row of every read model: what exactly-once application must reproduce."""
    rows: dict[str, Any] = {p.name: platform.followers[p.name].view.dump() for p in PROJECTIONS}
    rows["audit_entries"] = platform.audit.dump_entries()
    rows["audit_links"] = platform.audit.dump_links()
    return rows


def _wait_until_caught_up(platform: Platform, timeout: float = 90) -> None:
    head = platform.ledger.recorder.max_notification_id() or 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(platform.followers[p.name].view.position() >= head for p in PROJECTIONS):
            return
        time.sleep(0.05)
    raise AssertionError(f"the followers did not reach position {head}")


def test_followers_in_several_processes_apply_each_event_once(
    settings: Settings, platform: Platform, tmp_path: Path
) -> None:
    _, objective, first = plan_quarter(platform)
    key_results = [first.id] + [
        platform.ledger.add_key_result(EXEC, objective.id, definition(title=f"KR {n}")).id
        for n in range(WRITERS - 1)
    ]
    # A short poll, and writers in several threads: the processes read batches of
    # different lengths from the same position, the case where a follower that checks
    # its position outside the transaction applies an event twice.
    env = settings_env(settings, OKRGOV_PROJECTION_POLL_SECONDS="0.005")

    def write(key_result: UUID) -> None:
        for week in range(CHECK_INS):
            platform.ledger.check_in(TOM, key_result, 15 - week * 0.01, 0.6, f"week {week}")

    with processes(tmp_path) as started:
        followers = [
            started.start(env, "projections", "run", "--batch-size", str(7 + n))
            for n in range(FOLLOWERS)
        ]
        with ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(write, key_results))
        _wait_until_caught_up(platform)
        for follower in followers:
            assert follower.poll() is None, started.output(follower)
    for key_result in key_results:
        doc = platform.okr_state.get("key_result", str(key_result))
        assert doc is not None and doc["check_in_count"] == CHECK_INS
    entries = platform.audit.dump_entries()
    positions = [entry[0] for entry in entries]
    assert len(positions) == len(set(positions))
    shared = _views(platform)
    platform.rebuild()
    assert _views(platform) == shared


def test_a_rebuild_beside_running_followers_never_serves_a_partial_view(
    settings: Settings, platform: Platform, tmp_path: Path
) -> None:
    _, _, key_result = plan_quarter(platform)
    for week in range(60):
        platform.ledger.check_in(TOM, key_result.id, 15 - week * 0.01, 0.6, f"week {week}")
    platform.catch_up()
    seen: list[tuple[int, int]] = []
    stop = threading.Event()

    def read() -> None:
        # What a reader of the shared views sees: the key result's check-ins and the
        # audit trail's length; both only ever grow while events are only added.
        while not stop.is_set():
            doc = platform.okr_state.get("key_result", str(key_result.id))
            entries = platform.audit.count_entries()
            seen.append((doc["check_in_count"] if doc else -1, entries))

    env = settings_env(settings, OKRGOV_PROJECTION_POLL_SECONDS="0.01")
    with processes(tmp_path) as started:
        started.start(env, "projections", "run", "--batch-size", "5")
        reader = threading.Thread(target=read)
        reader.start()
        rebuild = started.start(env, "projections", "rebuild")
        week = 60
        while rebuild.poll() is None:
            platform.ledger.check_in(TOM, key_result.id, 14, 0.6, f"week {week}")
            week += 1
        _wait_until_caught_up(platform)
        stop.set()
        reader.join()
        assert rebuild.returncode == 0, started.output(rebuild)
        report = started.output(rebuild)
    assert week > 60, "the rebuild ended before any event was written beside it"
    check_ins = [count for count, _ in seen]
    lengths = [length for _, length in seen]
    assert min(check_ins) >= 60 and check_ins == sorted(check_ins), "a partial view was read"
    assert lengths == sorted(lengths), "a partial audit trail was read"
    doc = platform.okr_state.get("key_result", str(key_result.id))
    assert doc is not None and doc["check_in_count"] == week
    for projection in PROJECTIONS:
        assert f"{projection.name}: " in report and "switched in at position" in report
    shared = _views(platform)
    platform.rebuild()
    assert _views(platform) == shared


def test_two_api_processes_keep_one_truth(
    settings: Settings, platform: Platform, tmp_path: Path
) -> None:
    """The issue's run, smaller: check-ins through two ``okrgov serve`` processes on one
    store; both answer with the store's count, and their shared views equal a rebuild."""
    _, _, key_result = plan_quarter(platform)
    token = platform.tokens.create("tom", ["member"])
    env = settings_env(settings)
    per_client, clients = 15, 8
    with processes(tmp_path) as started:
        urls = [started.serve(env), started.serve(env)]

        def check_in(client: int) -> list[int]:
            url = urls[client % 2]
            headers = {"Authorization": f"Bearer {token}"}
            codes = []
            with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
                for n in range(per_client):
                    answer = http.post(
                        f"/v1/key-results/{key_result.id}/check-ins",
                        json={"value": 10 + n * 0.1, "confidence": 0.5, "note": f"c{client}"},
                    )
                    codes.append(answer.status_code)
            return codes

        with ThreadPoolExecutor(clients) as pool:
            codes = [code for codes in pool.map(check_in, range(clients)) for code in codes]
        assert codes == [201] * (per_client * clients)
        head = platform.ledger.recorder.max_notification_id() or 0
        for url in urls:
            answer = httpx.get(
                f"{url}/v1/key-results/{key_result.id}",
                headers={"Authorization": f"Bearer {token}", "X-Okrgov-Min-Position": str(head)},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["check_in_count"] == per_client * clients
    platform.catch_up()
    shared = _views(platform)
    platform.rebuild()
    assert _views(platform) == shared


def test_a_second_rebuild_is_refused_while_one_runs(
    settings: Settings, platform: Platform, tmp_path: Path
) -> None:
    plan_quarter(platform)
    platform.catch_up()
    before = _views(platform)
    env = settings_env(settings)
    with store_lock(settings, "rebuild"):  # as a running rebuild holds it
        refused = subprocess.run(
            [OKRGOV, "projections", "rebuild"], env=env, capture_output=True, text=True
        )
    assert refused.returncode == 1
    assert "another process holds the rebuild lock" in refused.stderr
    assert _views(platform) == before
    done = subprocess.run([OKRGOV, "projections", "rebuild"], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
