"""The embedded policy engine: the guardrails evaluated in-process by regorus.

Threads. A regorus ``Engine`` is *unsendable*: using it, or even cloning it, from any
thread other than the one that created it panics (``PanicException: regoruspy::Engine is
unsendable, but sent to another thread``). So neither a shared engine behind a lock nor a
shared engine cloned per evaluation is possible under a thread pool (FastAPI runs sync
endpoints on one). Each thread therefore builds its own prepared engine from the bundle's
text the first time it evaluates, and each evaluation runs on a clone of it; an engine is
only ever touched by its own thread, so no lock is held while evaluating. Loading a new
bundle bumps a generation number and every thread rebuilds on its next evaluation.

Where the bundle's compiled program agrees with the interpreter (``policies.compiled``),
each thread also compiles it and evaluates on it instead, with the interpreter judging
whatever the program cannot.

Measured (2-CPU machine, shared and noisy; best and median of 7 rounds) with the shipped
bundle and a key_result.add input, deny and warn evaluated: a shared engine behind a
``threading.Lock`` 0.31-0.36 ms (median 0.42-0.56); a clone of a prepared engine per
evaluation 0.32-0.34 ms (median 0.48-0.56): the same, since the clone itself costs about
0.4 µs; a clone of an engine that has not yet run a query 0.77-0.98 ms, because regorus
then repeats its analysis of the modules. ``EmbeddedEngine.evaluate`` end to end (canonical
JSON, clone, both rules, verdict) 0.37-0.38 ms (median 0.54-0.62). Building a thread's
engine (parse and analyse) takes 2-3 ms, once per thread and bundle. So each evaluation
clones the thread's prepared engine: as fast as a lock, with no lock, and no state can
leak from one evaluation into the next.

Dropping. An unsendable object must also be dropped on its own thread (PyO3 otherwise
reports ``regoruspy::Engine is unsendable, but is being dropped on another thread`` and
leaks it). So a thread's engines belong to the thread, not to the ``EmbeddedEngine``:
they live in a module-level ``threading.local`` (``_ThreadEngines``), keyed by the
``EmbeddedEngine`` they serve, and are dropped only by their own thread: when it replaces
one (a new bundle), when it next evaluates after their ``EmbeddedEngine`` was dropped (a
counter of dropped ones, compared on each evaluation), or when it ends. An
``EmbeddedEngine`` dropped on any thread drops no regorus object there. An evaluation
error carries no engine in its traceback either (``evaluate_prepared``): an exception
raised on a pool's thread is often freed on another.
"""

from __future__ import annotations

import itertools
import json
import threading
import weakref
from typing import Any

import regorus

from policies.bundle import PolicyBundle, canonical_json
from policies.compiled import UNDEFINED, CompiledGuardrails, compiled_for
from policies.engine import (
    DENY_RULE,
    WARN_RULE,
    PolicyEvaluationError,
    Verdict,
    compile_bundle,
    defines,
    new_engine,
    prepare,
    with_no_engine,
)


class _Prepared:
    """One thread's engine (and compiled program) of one ``EmbeddedEngine``'s bundle."""

    __slots__ = ("compiled", "engine", "generation")

    def __init__(
        self, generation: int, engine: regorus.Engine, compiled: CompiledGuardrails | None
    ) -> None:
        self.generation = generation
        self.engine = engine
        self.compiled = compiled


class _ThreadEngines(threading.local):
    """What one thread holds: its prepared engines by ``EmbeddedEngine`` key, and how many
    ``EmbeddedEngine`` objects had been dropped when it last looked for theirs."""

    def __init__(self) -> None:
        self.prepared: dict[int, _Prepared] = {}
        self.seen_drops = 0


_threads = _ThreadEngines()
_keys = itertools.count(1)
_live: set[int] = set()  # keys of the EmbeddedEngine objects not yet dropped
_drops = [0]  # how many have been dropped (a list: changed in place by the finalizer)


def _dropped(key: int) -> None:
    """An ``EmbeddedEngine`` was dropped: each thread drops its engines on its own next
    evaluation (or when it ends); nothing regorus is touched here, on whatever thread."""
    _live.discard(key)
    _drops[0] += 1


def _mine() -> dict[int, _Prepared]:
    """This thread's prepared engines, less those of dropped ``EmbeddedEngine`` objects
    (dropped now, on this thread, their own)."""
    here = _threads
    if here.seen_drops != _drops[0]:
        here.seen_drops = _drops[0]
        for key in [k for k in here.prepared if k not in _live]:
            del here.prepared[key]
    return here.prepared


class EmbeddedEngine:
    """``PolicyEngine`` on regorus, one engine per thread, owned by the thread."""

    def __init__(self, bundle: PolicyBundle | None = None) -> None:
        self._lock = threading.Lock()  # guards _current only
        # (generation, bundle, whether it defines warn rules)
        self._current: tuple[int, PolicyBundle, bool] | None = None
        self._key = next(_keys)
        _live.add(self._key)
        weakref.finalize(self, _dropped, self._key)
        if bundle is not None:
            self.load(bundle)

    @property
    def bundle(self) -> PolicyBundle | None:
        current = self._current
        return current[1] if current else None

    def load(self, bundle: PolicyBundle) -> None:
        """Check the bundle (``PolicyCompileError`` if invalid), then use it from now on."""
        engine = compile_bundle(bundle)
        has_warn = defines(engine, WARN_RULE)
        with self._lock:
            generation = self._current[0] + 1 if self._current else 1
            self._current = (generation, bundle, has_warn)
        # The compiled program's agreement is checked here, once per bundle and process,
        # rather than in a first decision; other threads only compile it.
        compiled = compiled_for(bundle, has_warn, engine)
        _mine()[self._key] = _Prepared(generation, engine, compiled)

    def evaluate(self, input: dict[str, Any]) -> Verdict:
        """The verdict of the loaded guardrails on one input document."""
        return self.evaluate_text(canonical_json(input))

    def evaluate_text(self, text: str) -> Verdict:
        """The verdict on one input document given as its canonical JSON text."""
        prepared, has_warn = self._template()
        if prepared.compiled is not None:
            answer = prepared.compiled.evaluate_text(text)
            if answer is not None:
                return Verdict.of(*answer)
        # A clone per evaluation: no input or state survives from one evaluation to the
        # next, and cloning a prepared engine costs under a microsecond.
        judged = _judged(prepared.engine, text, has_warn)
        if isinstance(judged, str):
            del prepared  # the error's traceback holds no engine (see "Dropping")
            raise PolicyEvaluationError(judged)
        return Verdict.of(*judged)

    @property
    def compiled(self) -> bool:
        """Whether this thread evaluates the current bundle on its compiled program."""
        return self._template()[0].compiled is not None

    def _template(self) -> tuple[_Prepared, bool]:
        """This thread's prepared engine for the current bundle, built on first use, with
        its compiled program where it agrees; and whether the bundle defines warn rules."""
        current = self._current
        if current is None:
            raise PolicyEvaluationError("no policy bundle loaded")
        generation, bundle, has_warn = current
        mine = _mine()
        prepared = mine.get(self._key)
        if prepared is None or prepared.generation != generation:
            mine.pop(self._key, None)  # the old bundle's engine, dropped here: its thread
            prepared = mine[self._key] = _built(generation, bundle, has_warn)
        return prepared, has_warn


@with_no_engine
def _built(generation: int, bundle: PolicyBundle, has_warn: bool) -> _Prepared:
    """This thread's engine of the bundle, prepared, and its compiled program if it agrees."""
    built = new_engine(bundle.modules, bundle.data)
    prepare(built)
    return _Prepared(generation, built, compiled_for(bundle, has_warn, built))


def evaluate_prepared(template: regorus.Engine, text: str, has_warn: bool) -> tuple[Any, Any]:
    """The deny and warn values (None when undefined) of one input (canonical JSON text)
    on a clone of a prepared engine; ``PolicyEvaluationError`` when a rule fails (raised
    with no engine in its traceback's frames)."""
    judged = _judged(template, text, has_warn)
    if isinstance(judged, str):
        del template
        raise PolicyEvaluationError(judged)
    return judged


def _judged(template: regorus.Engine, text: str, has_warn: bool) -> tuple[Any, Any] | str:
    """The deny and warn values, or the text of the error a rule raised."""
    engine = template.clone()
    try:
        engine.set_input_json(text)
        deny = engine.eval_rule_as_json(DENY_RULE)
        warn = engine.eval_rule_as_json(WARN_RULE) if has_warn else UNDEFINED
    except RuntimeError as exc:
        return _error_text(exc)
    return _result(deny), _result(warn)


def _result(text: str) -> Any:
    return None if text == UNDEFINED else json.loads(text)


def _error_text(exc: BaseException) -> str:
    return str(exc).split("Stack backtrace:", 1)[0].strip()
