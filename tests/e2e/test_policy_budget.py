"""A policy cannot stall the service (issue 8, point 6).

Decisions run in worker processes under a time budget: past it the command is refused
with 503 ``policy_timeout`` and the failed decision is recorded. A proposal whose rules
blow the budget on its own tests is refused naming the test and the rule. A what-if runs
in its own process under its own budget, and while the heaviest allowed one runs, a real
server keeps answering ``/healthz`` and ordinary writes. No test asserts a duration: only
what answered while something else was still running."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import uvicorn
from e2e_support import ANA, MARCUS, OMAR, PRIYA, TOM, decisions, ok, position
from fastapi.testclient import TestClient
from okr_builders import definition
from policy_bundles import GUARDRAILS, line_of, shipped_with, slow_rule

from infra.config import Settings
from policies.bundle import input_digest
from services.api import create_app
from services.bootstrap import Platform, build

AuthHeaders = Callable[..., dict[str, str]]

#: Slow only for a key result titled "heavy": the shipped tests and the invariants never
#: build one, so a version with it passes its checks, and only such a key result stalls.
HEAVY = slow_rule("heavy_title", 'input.resource.after.title == "heavy"')
#: Slow for every key result added: the shipped tests add many.
SLOW_ADDITIONS = slow_rule("slow_additions", 'input.action == "key_result.add"')


def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key="test-secret-of-enough-length-for-hs256",
        policy_budget_ms=300,
        simulate_budget_seconds=3,
    )


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    platform = build(settings(tmp_path))
    platform.start()
    try:
        yield platform
    finally:
        platform.close()


def body(bundle_text: str, description: str) -> dict[str, Any]:
    """A proposal: the shipped modules with ``bundle_text`` added, its data and its tests."""
    bundle = shipped_with(bundle_text)
    return {
        "modules": {**bundle.modules, **bundle.tests},
        "data": bundle.data,
        "description": description,
    }


def activate(client: TestClient | httpx.Client, auth: AuthHeaders, text: str) -> str:
    proposed = ok(
        client.post("/v1/policies", json=body(text, "slow for heavy titles"), headers=auth(*ANA)),
        201,
    )
    # The engines' comparison of a proposal shares the 3 s what-if budget these tests set;
    # on a loaded machine it may not finish, which is not what these tests are about, so
    # Omar accepts that (recorded) rather than the approval depending on the machine.
    approval = {"acknowledge_divergence": True, "reason": "testing the decision budget"}
    ok(client.post(f"/v1/policies/{proposed['id']}/approve", json=approval, headers=auth(*OMAR)))
    return str(proposed["id"])


def add_key_result(
    client: TestClient | httpx.Client, objective: str, headers: dict[str, str], **changes: Any
) -> Any:
    return client.post(
        f"/v1/objectives/{objective}/key-results", json=definition(**changes), headers=headers
    )


def test_a_decision_past_its_budget_is_refused_with_503_and_recorded(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    priya, marcus = auth(*PRIYA), auth(*MARCUS)
    activate(client, auth, HEAVY)

    before = position(platform)
    refused = add_key_result(client, world["objective"], priya, title="heavy")
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"] == "1"
    error = refused.json()["error"]
    assert error["code"] == "policy_timeout"
    assert "300 ms budget" in error["message"] and "nothing was changed" in error["message"]
    assert int(refused.headers["X-Okrgov-Position"]) == before + 1  # the failed decision only

    [failed] = decisions(client, platform, marcus, outcome="error")
    assert (failed["actor"], failed["action"], failed["policy_version"]) == (
        "priya",
        "key_result.add",
        None,
    )
    assert "300 ms budget" in failed["error"]
    recorded = platform.ledger.repository.get(UUID(failed["id"]))
    assert recorded.input["resource"]["after"]["title"] == "heavy"
    assert input_digest(recorded.input) == failed["input_digest"]

    # The stuck worker was killed; the next ordinary write is decided at once.
    added = ok(add_key_result(client, world["objective"], priya, title="Fund III DPI"), 201)
    assert added["title"] == "Fund III DPI"
    assert ok(client.get("/healthz"))["status"] == "ok"


def test_a_proposal_whose_rules_blow_the_budget_on_its_tests_names_test_and_rule(
    client: TestClient, platform: Platform, auth: AuthHeaders
) -> None:
    ana, marcus = auth(*ANA), auth(*MARCUS)
    before = position(platform)
    refused = client.post(
        "/v1/policies", json=body(SLOW_ADDITIONS, "slow on every addition"), headers=ana
    )
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "policy_test_failed"
    [over] = [d for d in error["details"] if d["outcome"] == "over_budget"]
    assert over["test"].startswith("data.okrgov.guardrails_test.test_")
    assert over["location"].startswith("guardrails_test.rego:")
    text = shipped_with(SLOW_ADDITIONS).modules[GUARDRAILS]
    where = f"{GUARDRAILS}:{line_of(text, 'slow_additions if {')}"
    assert over["culprit"] == {"rule": "data.okrgov.guardrails.slow_additions", "location": where}
    assert (over["field"], over["rule"]) == (f"modules.{GUARDRAILS}", "test")
    assert "300 ms budget" in over["message"] and where in over["message"]
    assert over["test"] in error["message"]
    # Nothing recorded: version 1 alone, and it still decides.
    assert position(platform) == before
    listing = ok(client.get("/v1/policies", headers=marcus))["items"]
    assert [(p["number"], p["status"]) for p in listing] == [(1, "active")]


def test_a_what_if_past_its_budget_answers_503_naming_it(
    client: TestClient, platform: Platform, auth: AuthHeaders, world: dict[str, str]
) -> None:
    ana, priya = auth(*ANA), auth(*PRIYA)
    ok(add_key_result(client, world["objective"], priya, title="heavy"), 201)  # under v1
    proposed = ok(client.post("/v1/policies", json=body(HEAVY, "heavy"), headers=ana), 201)
    before = position(platform)
    answer = client.post(
        f"/v1/policies/{proposed['id']}/simulate", json={"cycle_id": world["cycle"]}, headers=ana
    )
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert error["code"] == "simulation_timeout"
    assert "3 s budget" in error["message"]
    assert position(platform) == before
    assert platform.ledger.reviews.running == 0  # its worker was stopped


def test_healthz_and_writes_answer_while_the_heaviest_what_if_runs(tmp_path: Path) -> None:
    """Against a real uvicorn server: a what-if that runs until its budget kills it, and
    meanwhile /healthz and ordinary writes answer. (Before the sandbox, a what-if held
    the GIL: one took 6.5 s and /healthz waited 6.1 s with it.)"""
    platform = build(settings(tmp_path))
    platform.start()
    with serving(create_app(platform)) as url, httpx.Client(base_url=url, timeout=60) as client:
        try:
            auth = tokens(platform)
            priya, ana, tom = auth(*PRIYA), auth(*ANA), auth(*TOM)
            cycle = ok(
                client.post(
                    "/v1/cycles",
                    json={"name": "2026-Q4", "starts_on": "2026-10-01", "ends_on": "2026-12-31"},
                    headers=priya,
                ),
                201,
            )
            objective = new_objective(client, cycle["id"], priya)
            ok(add_key_result(client, objective, priya, title="heavy"), 201)
            turnaround = ok(add_key_result(client, objective, priya), 201)
            proposed = ok(client.post("/v1/policies", json=body(HEAVY, "heavy"), headers=ana), 201)

            finished = threading.Event()
            outcome: dict[str, Any] = {}

            def what_if() -> None:
                path = f"/v1/policies/{proposed['id']}/simulate"
                outcome["answer"] = client.post(path, json={"cycle_id": cycle["id"]}, headers=ana)
                finished.set()

            runner = threading.Thread(target=what_if)
            runner.start()
            while platform.ledger.reviews.running == 0 and not finished.is_set():
                finished.wait(0.01)
            health = writes = 0
            while not finished.is_set():
                if ok(client.get("/healthz"))["status"] == "ok" and not finished.is_set():
                    health += 1
                if writes < 3:
                    check_in = {"value": 12 - writes, "confidence": 0.6}
                    ok(
                        client.post(
                            f"/v1/key-results/{turnaround['id']}/check-ins",
                            json=check_in,
                            headers=tom,
                        ),
                        201,
                    )
                    if not finished.is_set():
                        writes += 1
            runner.join()
            answer = outcome["answer"]
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "simulation_timeout"
            # Answered while the what-if was still running (it ran to its budget).
            assert health >= 1 and writes >= 1, (health, writes)
            state = ok(client.get(f"/v1/key-results/{turnaround['id']}", headers=tom))
            assert state["check_in_count"] >= writes
        finally:
            platform.close()


# ---- a real server ---------------------------------------------------------------------


class serving:
    """``with serving(app) as url``: uvicorn on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        # As okrgov serve configures it: uvicorn leaves the process's logging alone.
        config = uvicorn.Config(app, log_config=None, access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]})

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            self.thread.join(0.01)
        host, port = self.socket.getsockname()
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.socket.close()


def tokens(platform: Platform) -> AuthHeaders:
    def headers(user: str, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {platform.tokens.create(user, list(roles))}"}

    return headers


def new_objective(client: httpx.Client, cycle: str, headers: dict[str, str]) -> str:
    created = client.post(
        "/v1/objectives",
        json={
            "cycle_id": cycle,
            "title": "Strengthen our operational infrastructure",
            "owner": "priya",
            "level": "company",
            "commitment": "committed",
        },
        headers=headers,
    )
    return str(ok(created, 201)["id"])
