"""The child side of the policy sandbox: a process that evaluates Rego for its parent.

The parent (``policies.sandbox``) starts it from the fork server, sends one JSON request
at a time over a ``multiprocessing.connection`` pipe and waits for the JSON answer under a
time budget; past the budget it kills this process. So nothing here needs a timeout of
its own, and a rule that never ends stalls nobody but this process.

A request is ``{"op": <name>, ...}`` (a JSON line, then an input's canonical JSON text,
if it carries one, as it is); the answer is ``{"ok": <value>}``, or
``{"compile_error": {"module", "line", "column", "message"}}`` for a bundle that cannot be
used, or ``{"error": <text>}`` for a rule that failed at runtime or a bad request.
Engines live in named slots (``"active"`` for decisions, ``"policy"``, ``"tests"``...)
until they are loaded again; every evaluation runs on a clone of its slot's engine, so no
input survives from one request to the next.

This module and everything it imports are preloaded in the fork server: a new worker is a
fork of a process that has already imported regorus.
"""

from __future__ import annotations

import contextlib
import json
import resource
import signal
import time
from collections.abc import Callable
from dataclasses import asdict
from multiprocessing.connection import Connection
from typing import Any

import regorus

from policies import divergence_job, whatif_job
from policies.bundle import PolicyBundle
from policies.compiled import UNDEFINED, CompiledGuardrails, compiled_for
from policies.data_reads import data_reads, missing
from policies.engine import (
    DENY_RULE,
    WARN_RULE,
    PolicyCompileError,
    check_functions_exist,
    defined_in,
    new_engine,
    prepare,
)
from policies.rule_map import blank_out, modules_of, package_of, probe_order, rules
from policies.testing import TestCase, run_test, test_cases

Answer = dict[str, Any]
Request = dict[str, Any]

#: How much memory a worker may take beyond what it holds when it starts: a rule that
#: builds ever larger values fails (the worker dies, the parent fails closed) instead of
#: driving the machine into swap. A decision on the shipped bundle needs a few MB.
MEMORY_HEADROOM_BYTES = 1 << 30

#: At most this many fixture inputs are offered for probing a slow test.
MAX_FIXTURE_INPUTS = 8


def serve(conn: Connection) -> None:
    """Answer requests until the parent closes the pipe (or kills this process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _limit_memory()
    slots: dict[str, _Slot] = {}
    while True:
        try:
            header, newline, payload = conn.recv_bytes().partition(b"\n")
        except (EOFError, OSError):
            return
        request = json.loads(header)
        if newline:  # an input follows the request line as it is (sandbox.Worker.ask)
            request["input"] = payload.decode("utf-8")
        answer = handle(slots, request)
        conn.send_bytes(json.dumps(answer, ensure_ascii=False).encode("utf-8"))


def handle(slots: dict[str, _Slot], request: Request) -> Answer:
    """One request's answer; never raises for a request it understands."""
    op = OPS.get(str(request.get("op")))
    if op is None:
        return {"error": f"unknown request {request.get('op')!r}"}
    try:
        return op(slots, request)
    except PolicyCompileError as exc:
        return {"compile_error": _compile_error(exc)}
    except RuntimeError as exc:  # what regorus raises for a rule that fails
        return {"error": _text(exc)}
    except Exception as exc:  # a request this worker cannot serve: say so, keep serving
        return {"error": f"{type(exc).__name__}: {_text(exc)}"}


def _ping(_slots: dict[str, _Slot], _request: Request) -> Answer:
    return {"ok": "ready"}


class _Slot:
    """A prepared engine, and its AST once something has asked for it (reading the AST
    of the shipped bundle and its tests takes ~60 ms: read it once per load)."""

    def __init__(self, engine: regorus.Engine) -> None:
        self.engine = engine
        self.compiled: CompiledGuardrails | None = None  # where it agrees, for decisions
        self._ast: list[dict[str, Any]] | None = None

    @property
    def ast(self) -> list[dict[str, Any]]:
        if self._ast is None:
            self._ast = json.loads(self.engine.get_ast_as_json())
        return self._ast

    def clone(self) -> regorus.Engine:
        return self.engine.clone()


def _load(slots: dict[str, _Slot], request: Request) -> Answer:
    """Parse modules and data into a slot and run regorus's analysis of them; say which
    package each module declares, whether deny and warn are defined and (asked for with
    ``"compiled"``; ``"agreed"``: an earlier worker's answer) whether the guardrails'
    compiled program agrees and will decide (``policies.compiled``)."""
    slots.pop(request["slot"], None)
    engine = new_engine(request["modules"], request["data"])
    prepare(engine)
    slot = slots[request["slot"]] = _Slot(engine)
    deny, warn = defined_in(slot.ast, DENY_RULE), defined_in(slot.ast, WARN_RULE)
    if request.get("compiled") and deny:
        bundle = PolicyBundle(request["modules"], request["data"])
        slot.compiled = compiled_for(bundle, warn, engine, request.get("agreed"))
    return {
        "ok": {
            "packages": {m["source"]["file"]: package_of(m) for m in slot.ast},
            "deny": deny,
            "warn": warn,
            "compiled": slot.compiled is not None,
        }
    }


def _decide(slots: dict[str, _Slot], request: Request) -> Answer:
    """The deny and warn sets for one input (canonical JSON text), on the compiled program
    where the slot has one and it answers."""
    slot = slots[request["slot"]]
    if slot.compiled is not None:
        answer = slot.compiled.evaluate_text(request["input"])
        if answer is not None:
            return {"ok": {"deny": answer[0], "warn": answer[1]}}
    engine = slot.clone()
    engine.set_input_json(request["input"])
    deny = engine.eval_rule_as_json(DENY_RULE)
    warn = engine.eval_rule_as_json(WARN_RULE) if request.get("warn", True) else UNDEFINED
    return {"ok": {"deny": _value(deny), "warn": _value(warn)}}


def _query(slots: dict[str, _Slot], request: Request) -> Answer:
    """A query's result on an input (as ``compile_bundle``'s analysis asks it)."""
    engine = slots[request["slot"]].clone()
    engine.set_input_json(request.get("input", "{}"))
    return {"ok": json.loads(engine.eval_query_as_json(request["query"]))}


def _functions(_slots: dict[str, _Slot], request: Request) -> Answer:
    check_functions_exist(request["modules"], request["data"], request["entry_points"])
    return {"ok": None}


def _settings(slots: dict[str, _Slot], request: Request) -> Answer:
    """The data paths the policy modules read that the data lacks."""
    reads = data_reads(modules_of(slots[request["slot"]].ast, set(request["files"])))
    return {
        "ok": [
            {"setting": read.name, "lacking": lacking, "location": read.location}
            for read, lacking in missing(reads, request["data"])
        ]
    }


def _tests(slots: dict[str, _Slot], request: Request) -> Answer:
    """The test rules of these files: full path and location."""
    cases = test_cases(slots[request["slot"]].ast, set(request["files"]))
    return {"ok": [asdict(c) for c in cases]}


def _test(slots: dict[str, _Slot], request: Request) -> Answer:
    case = TestCase(request["name"], request["location"])
    return {"ok": asdict(run_test(slots[request["slot"]].engine, case))}


def _rules(slots: dict[str, _Slot], request: Request) -> Answer:
    """The rules of these files that can be evaluated by name, each after those it reads,
    with their definitions; and the inputs the test fixtures of ``fixture_files`` offer."""
    slot = slots[request["slot"]]
    found = probe_order(rules(modules_of(slot.ast, set(request["files"]))))
    return {
        "ok": {
            "rules": [
                {"path": r.path, "definitions": [asdict(d) for d in r.definitions]} for r in found
            ],
            "inputs": _fixtures(
                slot.engine, modules_of(slot.ast, set(request.get("fixture_files", [])))
            ),
        }
    }


def _probe(slots: dict[str, _Slot], request: Request) -> Answer:
    """Evaluate one rule on an input; only how long it takes matters to the parent."""
    engine = slots[request["slot"]].clone()
    engine.set_input_json(request["input"])
    started = time.perf_counter()
    with contextlib.suppress(RuntimeError):  # an error is an answer: not the slow rule
        engine.eval_rule_as_json(request["rule"])
    return {"ok": time.perf_counter() - started}


def _probe_definition(slots: dict[str, _Slot], request: Request) -> Answer:
    """Evaluate a rule with only one of its definitions left in the modules (the others
    blanked out, lines unchanged): is this definition the slow one?"""
    keep = (request["keep"]["file"], request["keep"]["start"])
    blanked: dict[str, list[tuple[int, int]]] = {}
    for other in request["definitions"]:
        if (other["file"], other["start"]) != keep:
            blanked.setdefault(other["file"], []).append((other["start"], other["end"]))
    modules = {
        name: blank_out(text, blanked[name]) if name in blanked else text
        for name, text in request["modules"].items()
    }
    slots["definition"] = _Slot(new_engine(modules, request["data"]))
    return _probe(slots, {**request, "slot": "definition"})


def _whatif(_slots: dict[str, _Slot], request: Request) -> Answer:
    return {"ok": whatif_job.run(request)}


def _replay_decisions(_slots: dict[str, _Slot], request: Request) -> Answer:
    return {"ok": whatif_job.replay_decisions(request)}


OPS: dict[str, Callable[[dict[str, Any], Request], Answer]] = {
    "ping": _ping,
    "load": _load,
    "decide": _decide,
    "query": _query,
    "functions": _functions,
    "settings": _settings,
    "tests": _tests,
    "test": _test,
    "rules": _rules,
    "probe": _probe,
    "probe_definition": _probe_definition,
    "whatif": _whatif,
    "replay_decisions": _replay_decisions,
    "divergence": divergence_job.handle,
}


def _fixtures(engine: Any, modules: list[dict[str, Any]]) -> list[str]:
    """Input documents a test module builds as plain rules (``base_input := {"action":
    ...}``), as canonical JSON text: the inputs a slow test most likely used."""
    found: list[str] = []
    for module in modules:
        for rule in rules([module]):
            if rule.path.rpartition(".")[2].startswith("test_"):
                continue
            try:
                value = json.loads(engine.clone().eval_rule_as_json(rule.path))
            except (RuntimeError, ValueError):
                continue
            if isinstance(value, dict) and isinstance(value.get("action"), str):
                text = json.dumps(value, sort_keys=True, separators=(",", ":"))
                if text not in found:
                    found.append(text)
    return found[:MAX_FIXTURE_INPUTS]


def _value(text: str) -> Any:
    return None if text == UNDEFINED else json.loads(text)


def _compile_error(exc: PolicyCompileError) -> dict[str, Any]:
    return {"module": exc.module, "line": exc.line, "column": exc.column, "message": exc.message}


def _text(exc: BaseException) -> str:
    return str(exc).split("Stack backtrace:", 1)[0].strip()


def _limit_memory() -> None:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            size = int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return  # not Linux: no limit rather than a wrong one
    limit = size + MEMORY_HEADROOM_BYTES
    # The soft limit only: a job that loads OPA's Go evaluator widens it by the address
    # space Go's runtime reserves (``policies.opa_golib``); nothing in a rule can.
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
