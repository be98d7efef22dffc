"""Writes wait only for the views their answer reads. A check-in's answer is read from
the OKR state: it answers while the audit trail and the leaf log are held back, and the
audit trail is waited for by whoever reads it next (503 ``projection_behind`` while it is
held, the write included once it is let go). Each route's dependency declares the views
it reads, and what it is handed holds those only."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from e2e_support import MARCUS, PRIYA, TOM, ok
from fastapi.testclient import TestClient

from projections.follower import Follower
from projections.runner import AUDIT, GOVERNANCE, LEAF_LOG, OKR_STATE
from services.api.deps import Reads, UndeclaredView
from services.bootstrap import Platform

AuthHeaders = Callable[..., dict[str, str]]

#: How long a read waits for a held view before answering 503.
BOUND = 0.5


class Held:
    """Holds one view back: its follower is stopped (the others go on being fed) until let
    go, when it is started again and catches up."""

    def __init__(self, follower: Follower, poll_seconds: float) -> None:
        self.follower, self.poll_seconds, self.held = follower, poll_seconds, True
        follower.stop()

    def let_go(self) -> None:
        if self.held:
            self.held = False
            self.follower.start(self.poll_seconds)


@pytest.fixture
def hold(platform: Platform) -> Iterator[Callable[[str], Held]]:
    platform.settings.read_wait_seconds = BOUND
    held: list[Held] = []

    def holding(view: str) -> Held:
        poll = platform.settings.projection_poll_seconds
        held.append(Held(platform.followers[view], poll))
        return held[-1]

    yield holding
    for h in held:
        h.let_go()


def _check_in(client: TestClient, auth: AuthHeaders, world: dict[str, str]) -> Any:
    return client.post(
        f"/v1/key-results/{world['key_result']}/check-ins",
        json={"value": 13, "confidence": 0.6, "note": "fund admin data late again"},
        headers=auth(*TOM),
    )


def test_a_check_in_answers_while_the_audit_trail_and_the_leaf_log_are_held(
    client: TestClient,
    auth: AuthHeaders,
    platform: Platform,
    locked_world: dict[str, str],
    hold: Callable[[str], Held],
) -> None:
    hold(AUDIT)
    hold(LEAF_LOG)
    answer = _check_in(client, auth, locked_world)

    # Both views are held until the test ends: a write that waited for either could only
    # have answered 503 projection_behind after read_wait_seconds. So a 201 says it did
    # not wait, without a clock (a bound in seconds failed on a loaded machine).
    assert answer.status_code == 201, answer.text
    position = int(answer.headers["X-Okrgov-Position"])
    assert platform.projections.view(OKR_STATE).position() >= position
    assert platform.projections.view(AUDIT).position() < position
    assert platform.projections.view(LEAF_LOG).position() < position

    # Reading the trail as of the check-in waits for the trail, and gives up bounded.
    marcus = {**auth(*MARCUS), "X-Okrgov-Min-Position": str(position)}
    behind = client.get("/v1/audit", headers=marcus)
    assert behind.status_code == 503, behind.text
    assert behind.json()["error"]["code"] == "projection_behind"
    assert f"the audit view has not reached position {position}" in behind.text
    assert "Retry-After" in behind.headers
    # The compliance views read the trail too.
    assert client.get("/v1/compliance/violations", headers=marcus).status_code == 503
    # The OKRs read as of the check-in do not wait for the trail.
    kr = ok(client.get(f"/v1/key-results/{locked_world['key_result']}", headers=marcus))
    assert kr["latest_check_in"]["value"] == 13


def test_the_writers_next_read_of_the_trail_waits_for_its_write(
    client: TestClient,
    auth: AuthHeaders,
    world: dict[str, str],
    hold: Callable[[str], Held],
) -> None:
    audit = hold(AUDIT)
    priya = auth(*PRIYA)
    locked = ok(client.post(f"/v1/cycles/{world['cycle']}/lock", headers=priya))
    assert locked["state"] == "locked"
    # Her own last write: no header needed, and the held trail is not served stale.
    assert client.get("/v1/audit", headers=priya).status_code == 503

    # Let go a moment after the read starts: the read waits for the trail, then sees it.
    threading.Timer(BOUND / 5, audit.let_go).start()
    page = ok(client.get("/v1/audit", params={"aggregate_id": world["cycle"]}, headers=priya))
    assert "Cycle.Locked" in {entry["action"] for entry in page["items"]}, page


def test_a_write_answers_503_when_the_view_it_reads_is_held(
    client: TestClient,
    auth: AuthHeaders,
    locked_world: dict[str, str],
    hold: Callable[[str], Held],
) -> None:
    """The view a write's answer reads is still waited for: held, the write is recorded
    and the answer says where to read it later."""
    hold(OKR_STATE)
    answer = _check_in(client, auth, locked_world)
    assert answer.status_code == 503, answer.text
    message = answer.json()["error"]["message"]
    assert "the okr_state view has not reached position" in message
    assert "X-Okrgov-Min-Position" in message


def test_a_route_reading_a_view_it_did_not_wait_for_fails_loudly(platform: Platform) -> None:
    waited = Reads({OKR_STATE: platform.okr_state})
    assert waited.okr.view is platform.okr_state
    with pytest.raises(UndeclaredView, match="read the governance view without waiting"):
        waited.governance.policies()
    with pytest.raises(UndeclaredView, match="audit"):
        _ = Reads({GOVERNANCE: platform.governance}).audit
