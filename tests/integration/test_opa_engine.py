"""OpaEngine against an OPA server: a real ``opa run --server`` when an ``opa`` binary is on
PATH, otherwise the OPA server test double (``tests/opa_double.py``, OPA's own Go evaluator
and compiler behind OPA's REST endpoints), since no OPA binary can be installed on these
machines.

The decision cases compare OpaEngine's verdicts with EmbeddedEngine's on the shipped bundle,
every rule both ways. Failures are tested for what the caller relies on to fail closed:
each raises ``PolicyEvaluationError``, quickly. Faults a real server cannot be told to
produce (answering 500, garbage, hanging, refusing a module) are injected into the double
whichever server the rest of the file uses.
"""

from __future__ import annotations

import copy
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from opa_double import OpaServerDouble

from policies.bundle import PolicyBundle, load_shipped_bundle
from policies.embedded import EmbeddedEngine
from policies.engine import PolicyCompileError, PolicyEvaluationError, Verdict, new_engine
from policies.opa import OpaEngine, OpaServerError

OPA_BINARY = shutil.which("opa")
TIMEOUT = 5.0  # seconds, per request: generous, so a loaded machine never trips it by chance
HANGS = 60  # seconds a hanging server takes to answer

# ---------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    stop: Callable[[], None]
    double: OpaServerDouble | None = None
    kind: str = field(default="double")


@contextmanager
def running_server() -> Iterator[Server]:
    """A real OPA server when the binary is there, else the double."""
    if OPA_BINARY is None:
        with OpaServerDouble() as double:
            yield Server(double.url, double.stop, double, "double")
        return
    port = _free_port()
    process = subprocess.Popen(
        [OPA_BINARY, "run", "--server", "--addr", f"127.0.0.1:{port}", "--log-level", "error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process)
        yield Server(url, stop, None, "opa")
    finally:
        stop()
        if process.stderr is not None:
            process.stderr.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"opa exited with {process.returncode}: {error}")
        try:
            if requests.get(f"{url}/health", timeout=0.5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"opa at {url} did not become healthy")


@pytest.fixture
def server() -> Iterator[Server]:
    with running_server() as running:
        yield running


@pytest.fixture
def double() -> Iterator[OpaServerDouble]:
    with OpaServerDouble() as running:
        yield running


@pytest.fixture
def engine_on(server: Server) -> Iterator[OpaEngine]:
    engine = OpaEngine(server.url, timeout=TIMEOUT)
    yield engine
    engine.close()


def policies_on(url: str) -> dict[str, str]:
    """Policy id -> text of the modules a server holds (plain REST, no OpaEngine)."""
    listing = requests.get(f"{url}/v1/policies", timeout=5).json()["result"]
    return {p["id"]: p["raw"] for p in listing}


def data_on(url: str, path: str) -> Any:
    """The document at a data path, or None when undefined."""
    return requests.get(f"{url}/v1/data/{path}", timeout=5).json().get("result")


def wipe(url: str) -> None:
    """What an OPA server that keeps policies in memory knows after a restart: nothing."""
    for pid in policies_on(url):
        requests.delete(f"{url}/v1/policies/{pid}", timeout=5).raise_for_status()
    requests.put(f"{url}/v1/data", data="{}", timeout=5).raise_for_status()


# ---------------------------------------------------------------------------------------
# Input documents (the shape policies/README.md describes)
# ---------------------------------------------------------------------------------------

KEY_RESULT: dict[str, Any] = {
    "title": "LP reporting turnaround",
    "owner": "tom",
    "unit": "days",
    "baseline": 15,
    "target": 8,
    "direction": "decrease",
    "pay_linked": False,
    "risk_domain": "operational",
    "risk_rating": 2,
    "guardrail_metric": None,
}

SIBLING: dict[str, Any] = {
    **KEY_RESULT,
    "id": "kr-0",
    "title": "SOC 2 controls with evidence collected",
    "owner": "dmitri",
    "unit": "%",
    "baseline": 55,
    "target": 100,
    "direction": "increase",
}


def base(action: str) -> dict[str, Any]:
    return {
        "action": action,
        "actor": {"id": "tom", "roles": ["member"]},
        "resource": {"kind": "key_result", "id": None, "before": None, "after": None},
        "objective": {
            "id": "obj-1",
            "title": "Give our LPs faster, cleaner reporting",
            "owner": "sofia",
            "level": "team",
            "commitment": "committed",
        },
        "siblings": [copy.deepcopy(SIBLING)],
        "cycle": {"id": "cycle-1", "name": "2026-Q4", "state": "planning"},
        "cycle_key_results": [],
        "change_request": None,
        "time": "2026-10-05T09:00:00+00:00",
        # What the people directory says of the people named: the conduct rule reads it.
        "people": {
            "tom": {"job_role": "investor_relations", "active": True},
            "sofia": {"job_role": "investor_relations", "active": True},
            "dmitri": {"job_role": "operations", "active": True},
        },
    }


def key_result(
    action: str = "key_result.add",
    *,
    without: tuple[str, ...] = (),
    siblings: list[dict[str, Any]] | None = None,
    cycle_state: str = "planning",
    change_request: dict[str, Any] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    doc = base(action)
    after = {**KEY_RESULT, **changes}
    for name in without:
        del after[name]
    doc["resource"]["after"] = after if action != "key_result.retire" else None
    if action != "key_result.add":
        doc["resource"]["id"] = "kr-1"
        doc["resource"]["before"] = dict(KEY_RESULT)
    if siblings is not None:
        doc["siblings"] = siblings
    doc["cycle"]["state"] = cycle_state
    doc["change_request"] = change_request
    return doc


def decision(action: str, actor: str) -> dict[str, Any]:
    doc = base(action)
    doc["actor"] = {"id": actor, "roles": ["executive"]}
    doc["resource"] = {"kind": "change_request", "id": "cr-1", "before": None, "after": None}
    doc["siblings"] = []
    doc["cycle"]["state"] = "locked"
    doc["change_request"] = {
        "id": "cr-1",
        "requester": "tom",
        "status": "pending",
        "key_result_id": "kr-1",
    }
    return doc


def objective(title: str, action: str = "objective.create") -> dict[str, Any]:
    doc = base(action)
    after = {"title": title, "owner": "priya", "level": "company", "commitment": "committed"}
    doc["resource"] = {"kind": "objective", "id": "obj-1", "before": None, "after": after}
    doc["siblings"] = []
    return doc


def lock(confidences: dict[str, list[float | None]]) -> dict[str, Any]:
    doc = base("cycle.lock")
    doc["resource"] = {"kind": "cycle", "id": "cycle-1", "before": None, "after": None}
    doc["objective"] = None
    doc["siblings"] = []
    doc["cycle_key_results"] = [
        {"id": f"{obj}-kr-{i}", "objective_id": obj, "confidence": confidence}
        for obj, values in confidences.items()
        for i, confidence in enumerate(values)
    ]
    return doc


APPROVED_CR = {"id": "cr-1", "requester": "tom", "status": "approved", "key_result_id": "kr-1"}
NONE: frozenset[str] = frozenset()


def rules(*names: str) -> frozenset[str]:
    return frozenset(names)


# (id, input, rules expected in deny, rules expected in warn)
CASES: list[tuple[str, dict[str, Any], frozenset[str], frozenset[str]]] = [
    ("clean key result", key_result(), NONE, NONE),
    ("pay-linked", key_result(pay_linked=True), rules("pay_linked"), NONE),
    ("pay_linked not a boolean", key_result(pay_linked="yes"), rules("pay_linked"), NONE),
    ("pay_linked 0 is not false", key_result(pay_linked=0), rules("pay_linked"), NONE),
    ("rating above appetite", key_result(risk_rating=5), rules("risk_appetite"), NONE),
    ("domain without appetite", key_result(risk_domain="weather"), rules("risk_appetite"), NONE),
    ("rating not whole", key_result(risk_rating=2.5), rules("risk_appetite"), NONE),
    ("no unit, no change", key_result(without=("unit",), target=15), rules("measurable"), NONE),
    ("unknown direction", key_result(direction="sideways"), rules("measurable"), NONE),
    (
        "sixth key result",
        key_result(siblings=[dict(SIBLING, id=f"kr-{i}") for i in range(5)]),
        rules("key_result_limit"),
        NONE,
    ),
    ("first key result", key_result(siblings=[]), NONE, rules("single_key_result")),
    (
        "revise after lock",
        key_result("key_result.revise", cycle_state="locked", target=6),
        rules("changes_after_lock"),
        NONE,
    ),
    (
        "revise after lock, approved",
        key_result("key_result.revise", cycle_state="locked", change_request=APPROVED_CR, target=6),
        NONE,
        NONE,
    ),
    (
        "retire when closed",
        key_result("key_result.retire", cycle_state="closed"),
        rules("changes_after_lock"),
        rules("single_key_result"),
    ),
    ("requester approves", decision("change_request.approve", "tom"), rules("four_eyes"), NONE),
    ("another person rejects", decision("change_request.reject", "priya"), NONE, NONE),
    (
        "a member approves",
        {
            **decision("change_request.approve", "sofia"),
            "actor": {"id": "sofia", "roles": ["member"]},
        },
        rules("approver_role"),
        NONE,
    ),
    (
        "sales volume, client-facing",
        key_result(title="Net new money from LPs"),
        rules("sales_conduct"),
        NONE,
    ),
    (
        "sales volume, back office",
        key_result(title="Net new money from LPs", owner="dmitri"),
        NONE,
        NONE,
    ),
    (
        "activity",
        key_result(title="Launch the onboarding portal"),
        NONE,
        rules("activity_not_outcome"),
    ),
    (
        "objective with digits",
        objective("Grow AUM by 20% in 2026"),
        NONE,
        rules("objective_title_shape"),
    ),
    (
        "objective too short",
        objective("Faster reporting", "objective.revise"),
        NONE,
        rules("objective_title_shape"),
    ),
    ("objective well shaped", objective("Give our LPs faster, cleaner reporting"), NONE, NONE),
    (
        "growth without guardrail",
        key_result(
            title="Portfolio return above benchmark",
            direction="increase",
            risk_domain="investment",
            baseline=1,
            target=2,
        ),
        NONE,
        rules("growth_without_guardrail"),
    ),
    (
        "growth with guardrail",
        key_result(
            title="Portfolio return above benchmark",
            direction="increase",
            risk_domain="investment",
            baseline=1,
            target=2,
            guardrail_metric="drawdown",
        ),
        NONE,
        NONE,
    ),
    (
        "confident lock",
        lock({"obj-a": [0.95, 0.97], "obj-b": [0.99]}),
        NONE,
        rules("sandbagging", "single_key_result"),
    ),
    ("stretching lock", lock({"obj-a": [0.5, 0.7], "obj-b": [0.6, None]}), NONE, NONE),
    (
        "non-ASCII title",
        key_result(title="Réduire le délai de reporting — 15 → 8 jours"),
        NONE,
        NONE,
    ),
    ("empty input", {}, NONE, NONE),
]


def fired(verdict: Verdict) -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(v.rule for v in verdict.deny), frozenset(v.rule for v in verdict.warn)


# ---------------------------------------------------------------------------------------
# Bundles
# ---------------------------------------------------------------------------------------

SHIPPED = load_shipped_bundle()

SIBLING_LIMIT = PolicyBundle(
    modules={
        "sibling_limit.rego": """package okrgov.guardrails

import rego.v1

deny contains {"rule": "sibling_limit", "message": msg} if {
\tcount(input.siblings) > data.max_siblings
\tmsg := sprintf("at most %d other key results", [data.max_siblings])
}
"""
    },
    data={"max_siblings": 0},
)

# Rules calling a function of another package, in a module whose name sorts first: OPA
# refuses the first module until the second is there.
TWO_MODULES = PolicyBundle(
    modules={
        "a_rules.rego": """package okrgov.guardrails

import rego.v1

deny contains {"rule": "risky", "message": "too risky"} if {
\tdata.okrgov.lib.too_risky(input.resource.after)
}

warn contains {"rule": "watched", "message": "on the watch list"} if {
\tinput.actor.id in data.okrgov.lib.watch_list
}
""",
        "b_lib.rego": """package okrgov.lib

import rego.v1

too_risky(kr) if kr.risk_rating > data.cap

watch_list := {"tom"}
""",
    },
    data={"cap": 3},
)

BROKEN = PolicyBundle(
    modules={
        **SHIPPED.modules,
        "broken.rego": "package okrgov.extra\n\nimport rego.v1\n\nx := {\n",
    },
    data=SHIPPED.data,
)


def with_data(bundle: PolicyBundle, **changes: Any) -> PolicyBundle:
    data = copy.deepcopy(bundle.data)
    for path, value in changes.items():
        node = data
        *parents, last = path.split("__")
        for name in parents:
            node = node[name]
        node[last] = value
    return PolicyBundle(modules=dict(bundle.modules), data=data)


@pytest.fixture(scope="module")
def embedded() -> EmbeddedEngine:
    return EmbeddedEngine(SHIPPED)


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[Server, OpaEngine]]:
    with running_server() as running:
        engine = OpaEngine(running.url, timeout=TIMEOUT)
        engine.load(SHIPPED)
        yield running, engine
        engine.close()


# ---------------------------------------------------------------------------------------
# Same decisions
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("doc", "deny", "warn"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_opa_gives_the_embedded_verdict(
    shared: tuple[Server, OpaEngine],
    embedded: EmbeddedEngine,
    doc: dict[str, Any],
    deny: frozenset[str],
    warn: frozenset[str],
) -> None:
    _, opa = shared
    verdict = opa.evaluate(doc)
    assert verdict == embedded.evaluate(doc)
    assert fired(verdict) == (deny, warn)


def test_the_cases_cover_every_rule_both_ways() -> None:
    engine = new_engine(SHIPPED.modules, SHIPPED.data)
    answer = json.loads(engine.eval_query_as_json("data.okrgov.guardrails.catalogue"))
    catalogue = set(answer["result"][0]["expressions"][0]["value"])
    assert len(catalogue) >= 12
    for rule in catalogue:
        hits = [rule in deny | warn for _, _, deny, warn in CASES]
        assert any(hits) and not all(hits), rule


def test_a_second_bundle_replaces_the_first(
    server: Server, engine_on: OpaEngine, embedded: EmbeddedEngine
) -> None:
    pay_linked = key_result(pay_linked=True)
    engine_on.load(SHIPPED)
    assert "pay_linked" in fired(engine_on.evaluate(pay_linked))[0]

    engine_on.load(SIBLING_LIMIT)
    reference = EmbeddedEngine(SIBLING_LIMIT)
    for doc in (pay_linked, key_result(siblings=[]), lock({"o": [0.99]})):
        assert engine_on.evaluate(doc) == reference.evaluate(doc)
    assert fired(engine_on.evaluate(pay_linked)) == (rules("sibling_limit"), NONE)
    assert set(policies_on(server.url)) == {"okrgov/sibling_limit.rego"}
    assert data_on(server.url, "max_siblings") == 0
    assert data_on(server.url, "risk_appetite") is None  # the old data went with its bundle

    engine_on.load(SHIPPED)
    assert engine_on.evaluate(pay_linked) == embedded.evaluate(pay_linked)
    assert set(policies_on(server.url)) == {"okrgov/guardrails.rego"}


def test_new_data_alone_changes_the_decision(engine_on: OpaEngine) -> None:
    risky = key_result(risk_rating=5)
    engine_on.load(SHIPPED)
    assert fired(engine_on.evaluate(risky))[0] == rules("risk_appetite")
    relaxed = with_data(SHIPPED, risk_appetite__operational=5)
    engine_on.load(relaxed)
    assert engine_on.evaluate(risky) == EmbeddedEngine(relaxed).evaluate(risky)
    assert fired(engine_on.evaluate(risky))[0] == NONE


def test_modules_that_call_each_other(engine_on: OpaEngine) -> None:
    engine_on.load(TWO_MODULES)
    reference = EmbeddedEngine(TWO_MODULES)
    for doc in (key_result(risk_rating=5), key_result(risk_rating=2), decision("x", "priya")):
        assert engine_on.evaluate(doc) == reference.evaluate(doc)
    assert fired(engine_on.evaluate(key_result(risk_rating=5))) == (
        rules("risky"),
        rules("watched"),
    )


def test_a_restarted_server_is_given_the_bundle_again(
    server: Server, engine_on: OpaEngine, embedded: EmbeddedEngine
) -> None:
    engine_on.load(SHIPPED)
    wipe(server.url)
    doc = key_result(pay_linked=True, risk_rating=5)
    assert engine_on.evaluate(doc) == embedded.evaluate(doc)
    assert set(policies_on(server.url)) == {"okrgov/guardrails.rego"}


def test_evaluations_never_see_half_a_load(double: OpaServerDouble) -> None:
    """While a load is pushing (writes made slow, so that the server holds a mix for a
    while), evaluations in the same process wait for it: every verdict is one bundle's."""
    engine = OpaEngine(double.url, timeout=TIMEOUT)
    doc = key_result(pay_linked=True, siblings=[SIBLING])
    expected = [
        EmbeddedEngine(SHIPPED).evaluate(doc),
        EmbeddedEngine(SIBLING_LIMIT).evaluate(doc),
    ]
    assert expected[0] != expected[1]
    engine.load(SHIPPED)
    double.delay(0.03, methods=frozenset({"PUT", "DELETE"}))
    seen: list[Verdict | BaseException] = []
    done = threading.Event()

    def evaluate() -> None:
        while not done.is_set():
            try:
                seen.append(engine.evaluate(doc))
            except BaseException as exc:
                seen.append(exc)

    threads = [threading.Thread(target=evaluate) for _ in range(6)]
    for thread in threads:
        thread.start()
    for bundle in (SIBLING_LIMIT, SHIPPED) * 3:
        engine.load(bundle)
    done.set()
    for thread in threads:
        thread.join()
    unexpected = [v for v in seen if v not in expected]
    assert seen and not unexpected, unexpected[:3]
    assert all(v in seen for v in expected)  # both bundles answered at some point


def test_the_server_answers_as_opa_where_regorus_does_not(server: Server) -> None:
    """Whichever server runs, its answers are OPA's: where regorus differs (Unicode case
    mapping, the regex character classes), the server gives OPA's answer."""
    module = (
        'package probe\n\nlowered := lower("\u0130")\n\nspace if regex.match(`\\s`, "\u00a0")\n'
    )
    requests.put(f"{server.url}/v1/policies/probe.rego", data=module, timeout=5).raise_for_status()
    assert data_on(server.url, "probe") == {"lowered": "i"}
    regorus = new_engine({"probe.rego": module}, {})
    answer = json.loads(regorus.eval_query_as_json("data.probe"))
    assert answer["result"][0]["expressions"][0]["value"] == {"lowered": "i\u0307", "space": True}


def test_a_call_of_an_unknown_function_is_refused_with_opas_error(server: Server) -> None:
    """OPA's compiler refuses a module calling a function no module defines (regorus's
    analysis lets it through): the PUT answers 400 with OPA's error document."""
    module = "package probe\n\nimport rego.v1\n\nallowed if {\n\tnot_defined(input.x)\n}\n"
    answer = requests.put(f"{server.url}/v1/policies/probe.rego", data=module, timeout=5)
    assert answer.status_code == 400
    body = answer.json()
    assert (body["code"], body["message"]) == (
        "invalid_parameter",
        "error(s) occurred while compiling module(s)",
    )
    [error] = body["errors"]
    assert error["code"] == "rego_type_error"
    assert "not_defined" in error["message"]
    assert (error["location"]["file"], error["location"]["row"]) == ("probe.rego", 6)
    assert "probe.rego" not in policies_on(server.url)


def test_a_parse_error_is_located_at_its_column(server: Server) -> None:
    answer = requests.put(
        f"{server.url}/v1/policies/probe.rego", data="package probe\n\nx := [1, ]]\n", timeout=5
    )
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["code"] == "rego_parse_error"
    assert error["location"] == {"file": "probe.rego", "row": 3, "col": 11}


def test_health(server: Server, engine_on: OpaEngine) -> None:
    assert engine_on.health()
    server.stop()
    assert not engine_on.health()


# ---------------------------------------------------------------------------------------
# Failing closed
# ---------------------------------------------------------------------------------------


def test_a_bundle_with_a_syntax_error_is_refused_before_anything_is_pushed(
    server: Server, engine_on: OpaEngine, embedded: EmbeddedEngine
) -> None:
    engine_on.load(SHIPPED)
    before = policies_on(server.url), data_on(server.url, "risk_appetite")
    seen = len(server.double.requests) if server.double else 0

    with pytest.raises(PolicyCompileError) as refused:
        engine_on.load(BROKEN)

    assert (refused.value.module, refused.value.line) == ("broken.rego", 6)
    assert (policies_on(server.url), data_on(server.url, "risk_appetite")) == before
    if server.double:
        writes = [r for r in server.double.requests[seen:] if r[0] in ("PUT", "DELETE")]
        assert writes == []
    doc = key_result(pay_linked=True)
    assert engine_on.evaluate(doc) == embedded.evaluate(doc)  # the previous bundle still rules


def test_an_unreachable_server_fails_quickly(server: Server, engine_on: OpaEngine) -> None:
    engine_on.load(SHIPPED)
    server.stop()
    # Refused at once as unreachable (a connection refused is no timeout to wait out):
    # said by the error, never by a clock on a shared machine.
    with pytest.raises(PolicyEvaluationError, match="unreachable"):
        engine_on.evaluate(key_result())
    with pytest.raises(PolicyEvaluationError, match="unreachable"):
        engine_on.load(SIBLING_LIMIT)


def test_nothing_listening_at_all() -> None:
    engine = OpaEngine(f"http://127.0.0.1:{_free_port()}", timeout=TIMEOUT)
    with pytest.raises(PolicyEvaluationError, match="no policy bundle loaded"):
        engine.evaluate(key_result())
    with pytest.raises(OpaServerError, match="unreachable"):
        engine.load(SHIPPED)
    assert not engine.health()


def test_a_server_answering_500_fails(double: OpaServerDouble) -> None:
    engine = OpaEngine(double.url, timeout=TIMEOUT)
    engine.load(SHIPPED)
    double.fail(500)
    with pytest.raises(PolicyEvaluationError, match="answered 500") as failed:
        engine.evaluate(key_result())
    assert isinstance(failed.value, OpaServerError) and failed.value.status == 500
    with pytest.raises(OpaServerError, match="answered 500"):
        engine.load(SIBLING_LIMIT)
    double.recover()
    assert fired(engine.evaluate(key_result(pay_linked=True)))[0] == rules("pay_linked")


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Bad gateway</html>",
        b"[1, 2]",
        b'{"result": 42}',
        b'{"result": [{"rule": "pay_linked"}]}',
    ],
    ids=["not JSON", "not an object", "not a set", "not a violation"],
)
def test_a_malformed_answer_fails(double: OpaServerDouble, body: bytes) -> None:
    engine = OpaEngine(double.url, timeout=TIMEOUT)
    engine.load(SHIPPED)
    double.fail(200, body)
    with pytest.raises(PolicyEvaluationError, match="malformed"):
        engine.evaluate(key_result())


def test_a_hanging_server_times_out(double: OpaServerDouble) -> None:
    engine = OpaEngine(double.url, timeout=TIMEOUT)
    engine.load(SHIPPED)
    double.delay(HANGS)
    started = time.monotonic()
    with pytest.raises(PolicyEvaluationError, match="did not answer"):
        engine.evaluate(key_result())
    # It gave up rather than waiting for the answer (which would come after HANGS s): a
    # bound twelve times the timeout, so a loaded machine cannot make it fail.
    assert time.monotonic() - started < HANGS


def test_refusals_are_retried_while_others_make_progress(double: OpaServerDouble) -> None:
    double.refuse_puts("okrgov/a_rules.rego", times=1)
    engine = OpaEngine(double.url, timeout=TIMEOUT)
    engine.load(TWO_MODULES)
    puts = [path for method, path in double.requests if method == "PUT"]
    assert puts == [
        "/v1/data",
        "/v1/policies/okrgov/a_rules.rego",
        "/v1/policies/okrgov/b_lib.rego",
        "/v1/policies/okrgov/a_rules.rego",
    ]
    assert fired(engine.evaluate(key_result(risk_rating=5)))[0] == rules("risky")


def test_a_module_the_server_refuses_is_named_and_the_previous_bundle_returns(
    double: OpaServerDouble, embedded: EmbeddedEngine
) -> None:
    engine = OpaEngine(double.url, timeout=TIMEOUT)
    engine.load(SHIPPED)
    double.refuse_puts("okrgov/sibling_limit.rego", times=5)
    with pytest.raises(PolicyCompileError, match="refused by the OPA server") as refused:
        engine.load(SIBLING_LIMIT)
    assert (refused.value.module, refused.value.line) == ("sibling_limit.rego", 1)
    assert engine.bundle is SHIPPED
    assert double.data.get("max_siblings") == 0  # the server holds a mix for now
    doc = key_result(pay_linked=True)
    assert engine.evaluate(doc) == embedded.evaluate(doc)
    assert "max_siblings" not in double.data and set(double.modules) == {"okrgov/guardrails.rego"}


def test_the_url_has_no_path() -> None:
    with pytest.raises(ValueError, match="path"):
        OpaEngine("http://opa.internal:8181/v1")
    assert OpaEngine("http://[::1]:8181").url == "http://[::1]:8181"
