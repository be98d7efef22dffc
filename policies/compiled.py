"""regorus's compiled program (its RVM) for the guardrails, used for a bundle only where it
decides exactly as regorus's interpreter does.

Why. A decision on the compiled program costs a third to a half of one on the interpreter
(the shipped bundle, measured by ``bench/policy.py``): the interpreter walks the rules'
syntax tree on every evaluation, the program is instructions compiled once per bundle.

Why not always. The compiled program does not yet treat an undefined value as the
interpreter (and OPA) do: ``x := input.absent`` binds ``x`` to undefined instead of
failing the body, so ``not f(x)`` then holds and the rule's set gains an element (some
``"<undefined>"``). A bundle can be written so that it never assigns an undefined value
(the shipped one is), but any bundle a risk officer proposes may. So a bundle earns the
program by agreement: when it is loaded, the program and the interpreter judge the probe
corpus (``policies.probe_corpus``: every action, absent and null fields, inputs recorded
before words and basis points were prepared, numbers around every threshold of the
bundle's own data), and only if every deny and warn set is identical is the program used
(and only if the check ends within ``AGREEMENT_SECONDS``: slow rules stay interpreted).
The answer is kept per bundle digest, once per process. A program that fails to compile
(features the compiler does not support yet) is simply not used.

At run time the program's answer is still checked: a result that holds the compiled
program's mark of an undefined value, or an error, is judged again by the interpreter,
whose answer (verdict or error) is the one given. The machine stops a program after
25,000 instructions (a limit the binding does not let us change): an evaluation that
needs more (the lock of a cycle of some thousands of key results) is the interpreter's.

Threads. Like an engine, a ``regorus.Program`` and ``regorus.Rvm`` are unsendable: each
thread compiles its own (about 2 ms for the shipped bundle) and reuses its machine; every
execution starts from the input it is given, so nothing survives from one to the next.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import regorus

from policies.bundle import PolicyBundle, canonical_json
from policies.engine import DENY_RULE, WARN_RULE

#: How many probe inputs a bundle's program must judge as the interpreter does.
AGREEMENT_INPUTS = 600
AGREEMENT_SEED = 29
#: A check that takes longer (rules slow enough to make it so) leaves the bundle on the
#: interpreter rather than hold up a worker's start budget (5 s by default): the shipped
#: bundle's takes 0.25-0.6 s.
AGREEMENT_SECONDS = 2.0

#: What a rule that is undefined evaluates to, in both of regorus's answers.
UNDEFINED = '"<undefined>"'
_UNDEFINED_MARK = "<undefined>"

# The entry point compiled beside a bundle's modules (a package no bundle uses).
_ENTRY_PACKAGE = "okrgov_compiled_entry"
_ENTRY_RULE = "verdict"
_ENTRY_MODULE = "<okrgov compiled entry>.rego"

_agreed: dict[str, bool] = {}
_agreed_lock = threading.Lock()


class CompiledGuardrails:
    """One thread's compiled program of a bundle's deny (and warn) rules, and its machine."""

    def __init__(self, bundle: PolicyBundle, has_warn: bool) -> None:
        self.has_warn = has_warn
        data = canonical_json(bundle.data)
        # One entry point for both sets: one execution, and the rules both read (the
        # definition under review, its words, the siblings...) evaluated once.
        both = f"[{DENY_RULE}, {WARN_RULE}]" if has_warn else f"[{DENY_RULE}]"
        entry = f"package {_ENTRY_PACKAGE}\n\n{_ENTRY_RULE} := {both}\n"
        modules = [*sorted(bundle.modules.items()), (_ENTRY_MODULE, entry)]
        program = regorus.Program.compile_from_modules(
            data, modules, [f"data.{_ENTRY_PACKAGE}.{_ENTRY_RULE}"]
        )
        self._entry = f"data.{_ENTRY_PACKAGE}.{_ENTRY_RULE}"
        self._nothing = ""  # the program's text for "no deny, no warn", once seen
        self._vm = regorus.Rvm()
        self._vm.load_program(program)
        self._vm.set_data_json(data)  # the program is compiled with the data, not given it

    def evaluate_text(self, text: str) -> tuple[Any, Any] | None:
        """The deny and warn values (warn None when the bundle has none) for one input
        (canonical JSON text), or None when the interpreter must judge it (an error, or
        a mark of an undefined value)."""
        vm = self._vm
        try:
            vm.set_input_json(text)
            answer = vm.execute_entry_point(self._entry)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # an error (or a Rust panic): the interpreter's answer stands
            return None
        if answer == self._nothing:  # most decisions: nothing to read
            return [], [] if self.has_warn else None
        if _UNDEFINED_MARK in answer:
            return None
        both = json.loads(answer)
        if both == ([[], []] if self.has_warn else [[]]):
            self._nothing = answer
        if not isinstance(both, list) or len(both) != (2 if self.has_warn else 1):
            return None
        return both[0], both[1] if self.has_warn else None


def compiled_for(
    bundle: PolicyBundle,
    has_warn: bool,
    interpreter: regorus.Engine,
    agreed: bool | None = None,
) -> CompiledGuardrails | None:
    """This thread's compiled program of the bundle if it agrees with the interpreter on
    the probe corpus (decided once per process and bundle), else None. ``interpreter`` is
    a prepared engine of the same bundle (evaluated on clones). ``agreed``: the answer of
    an earlier check of this bundle in another process (a policy worker's), if known."""
    digest = bundle.digest()
    with _agreed_lock:
        if agreed is not None:
            _agreed.setdefault(digest, agreed)
        known = _agreed.get(digest)
    if known is False:
        return None
    try:
        compiled = CompiledGuardrails(bundle, has_warn)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # the compiler refuses the bundle (or panics): interpreter only
        with _agreed_lock:
            _agreed[digest] = False
        return None
    if known is None:
        agrees = agreement(bundle, has_warn, interpreter, compiled)
        with _agreed_lock:
            _agreed[digest] = agrees
        if not agrees:
            return None
    return compiled


def agreement(
    bundle: PolicyBundle,
    has_warn: bool,
    interpreter: regorus.Engine,
    compiled: CompiledGuardrails,
    inputs: list[dict[str, Any]] | None = None,
) -> bool:
    """Whether the program gives the interpreter's deny and warn sets on every probe
    input (``inputs``, else ``AGREEMENT_INPUTS`` drawn for this bundle's data)."""
    from policies.probe_corpus import probe_corpus  # only when a bundle is first loaded

    if inputs is None:
        inputs = probe_corpus(bundle.data, AGREEMENT_INPUTS, AGREEMENT_SEED)
    deadline = time.monotonic() + AGREEMENT_SECONDS
    for document in inputs:
        if time.monotonic() > deadline:
            return False
        text = canonical_json(document)
        # The program first: where it gives no answer (an error, its instruction limit)
        # the interpreter decides anyway, so there is nothing to compare, and a rule that
        # would run for long in the interpreter is not run here.
        answer = compiled.evaluate_text(text)
        if answer is None:
            continue
        if _interpreted(interpreter, text, has_warn) != tuple(_as_set(v) for v in answer):
            return False
    return True


def _interpreted(engine: regorus.Engine, text: str, has_warn: bool) -> tuple[Any, Any] | None:
    clone = engine.clone()
    try:
        clone.set_input_json(text)
        deny = clone.eval_rule_as_json(DENY_RULE)
        warn = clone.eval_rule_as_json(WARN_RULE) if has_warn else "null"
    except RuntimeError:
        return None
    return _as_set(json.loads(deny)), _as_set(json.loads(warn))


def _as_set(value: Any) -> Any:
    """A rule's value, with a set's elements in one order (canonical text sorted)."""
    if isinstance(value, list):
        return sorted(canonical_json(item) for item in value)
    return canonical_json(value)
