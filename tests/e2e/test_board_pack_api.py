"""The board pack through HTTP: the export names the firm (``OKRGOV_FIRM_NAME``, the demo
firm by default) and the demo roster's people beside their ids, says who sealed the
quarter and when, and is a progress report while the cycle is open."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from infra.config import Settings
from services.application.demo_people import FIRM_NAME, PEOPLE
from services.application.people import display_names
from services.bootstrap import Platform

AuthHeaders = Callable[..., dict[str, str]]
PRIYA = ("priya", "executive")
TOM = ("tom", "member")
NAMES = display_names(PEOPLE)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response


def _export(
    client: TestClient, cycle: str, fmt: str, headers: dict[str, str], as_of: Any = None
) -> Any:
    query = f"format={fmt}" + (f"&as_of={as_of}" if as_of is not None else "")
    return ok(client.get(f"/v1/cycles/{cycle}/snapshot/export?{query}", headers=headers))


def test_the_firm_defaults_to_the_demo_firm_and_is_a_setting(monkeypatch: Any) -> None:
    assert Settings().firm_name == FIRM_NAME
    monkeypatch.setenv("OKRGOV_FIRM_NAME", "Hollis & Vane")
    assert Settings().firm_name == "Hollis & Vane"


def test_the_board_pack_through_http(
    client: TestClient, auth: AuthHeaders, platform: Platform, locked_world: dict[str, str]
) -> None:
    priya, tom = auth(*PRIYA), auth(*TOM)
    cycle, kr = locked_world["cycle"], locked_world["key_result"]
    for person in PEOPLE:  # the directory the names are read from, when rendered
        platform.directory.provision(person.user_id, {"name": person.name}, by="okrgov")
    for value in (14, 12):
        ok(
            client.post(
                f"/v1/key-results/{kr}/check-ins", json={"value": value, "confidence": 0.7},
                headers=tom,
            ),
            201,
        )  # fmt: skip

    progress = _export(client, cycle, "html", priya).text
    assert f'<p class="firm">{FIRM_NAME}</p>' in progress
    assert "progress report, as of " in progress and "state: <b>locked</b>" in progress
    # 15 -> 12 of the way to 8 days: 3/7.
    assert '<span class="score mid">43%</span>' in progress
    assert f"{NAMES['tom']} (tom)" in progress and f"{NAMES['priya']} (priya)" in progress

    ok(
        client.post(
            f"/v1/cycles/{cycle}/close", json={"reason": "the board meets early"}, headers=priya
        )
    )
    sealed = ok(client.post(f"/v1/cycles/{cycle}/seal", headers=priya)).json()["seal"]
    platform.settings = platform.settings.model_copy(update={"firm_name": "Hollis & Vane"})
    report = _export(client, cycle, "html", priya, sealed["position"])
    html = report.text
    assert report.headers["X-Okrgov-Snapshot-Digest"] == sealed["digest"]
    assert '<p class="firm">Hollis &amp; Vane</p>' in html and FIRM_NAME not in html
    assert "quarter-end snapshot" in html and "progress report" not in html
    assert f"state: <b>sealed</b> by {NAMES['priya']} (priya) on " in html
    assert "this is the sealed snapshot" in html

    rows = list(csv.DictReader(io.StringIO(_export(client, cycle, "csv", priya).text)))
    [row] = rows
    assert (row["owner"], row["owner_name"]) == ("tom", NAMES["tom"])

    # Names are resolved, never copied: the directory's correction reaches the sealed
    # snapshot's renderings, whose digest (over user ids) does not change.
    platform.directory.update("tom", {"name": "Thomas Becker-Ali"}, by="okrgov")
    renamed = _export(client, cycle, "html", priya, sealed["position"])
    assert renamed.headers["X-Okrgov-Snapshot-Digest"] == sealed["digest"]
    assert "Thomas Becker-Ali (tom)" in renamed.text and NAMES["tom"] not in renamed.text
    assert (row["objective_owner"], row["objective_owner_name"]) == ("priya", NAMES["priya"])
    assert row["progress"] == "0.4286" and row["target_at_lock"] == ""
