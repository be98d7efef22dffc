"""The evaluators by name, for whoever must judge an input under a named engine.

``embedded`` is regorus in this process (``policies.embedded``); ``opa`` is OPA's own Go
evaluator in this process (``policies.opa_golib``), which answers as an OPA server does.
The decision point of a running server uses its own engines (``policies.sandboxed`` in
worker processes, ``policies.opa`` against an OPA server); this is for the tools that
evaluate versions that are not active: the policy tests, the replay of recorded decisions,
the divergence check of a proposal and the what-if."""

from __future__ import annotations

from typing import Literal, get_args

from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.engine import PolicyEngine
from policies.opa_golib import OpaGoEngine

EngineName = Literal["embedded", "opa"]

#: Every engine name, in the order reports list them.
ENGINE_NAMES: tuple[EngineName, ...] = get_args(EngineName)

#: What a person asks for: one engine by name, or every engine.
EngineChoice = Literal["embedded", "opa", "both"]


def chosen(choice: str) -> tuple[EngineName, ...]:
    """The engines an ``EngineChoice`` names ("both": every engine)."""
    if choice == "both":
        return ENGINE_NAMES
    if choice not in ENGINE_NAMES:
        raise ValueError(f"unknown policy engine {choice!r}; expected embedded, opa or both")
    return (choice,)


def evaluator(name: EngineName, bundle: PolicyBundle) -> PolicyEngine:
    """An engine of this name with the bundle loaded (``PolicyCompileError`` if it
    refuses it; ``OpaUnavailable`` for ``opa`` without OPA's Go evaluator)."""
    engine: PolicyEngine = OpaGoEngine() if name == "opa" else EmbeddedEngine()
    engine.load(bundle)
    return engine
