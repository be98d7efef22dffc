"""The policy decision point: evaluates one command's input document with the active
policy version and says which version, which bundle digest and which input it judged.

The input's canonical JSON is written once: its digest is taken over it, and an engine
that reads the text (the embedded and the sandboxed ones) is given it rather than writing
it again (for a cycle's lock, some 50 us of a decision)."""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from policies.bundle import PolicyBundle, canonical_json, sha256_hex
from policies.engine import PolicyEngine, PolicyEvaluationError, Verdict


@dataclass(frozen=True)
class Ruling:
    """A verdict with what it was reached under, for the decision record."""

    verdict: Verdict
    policy_version: int
    bundle_digest: str
    input_digest: str


class DecisionPoint:
    """Holds the engine loaded with the active version's bundle and evaluates inputs."""

    def __init__(self, engine: PolicyEngine) -> None:
        self.engine = engine
        self._active: tuple[int, str] | None = None
        self._lock = threading.Lock()
        # Odd while a bundle is being loaded: a decision made across a load cannot say
        # which version judged it, so it is made again (a sequence lock).
        self._loads = 0

    @property
    def active(self) -> tuple[int, str] | None:
        """(version number, bundle digest) currently loaded, if any."""
        return self._active

    def ensure(self, number: int, digest: str, bundle: Callable[[], PolicyBundle]) -> None:
        """Load the named version unless it is the one loaded (another process may have
        activated a new version since this one last looked)."""
        if self._active == (number, digest):
            return
        with self._lock:
            if self._active != (number, digest):
                self._loads += 1
                try:
                    self.engine.load(bundle())
                    self._active = (number, digest)
                finally:
                    self._loads += 1

    def close(self) -> None:
        """Release what the engine holds (worker processes, HTTP sessions), if anything."""
        close = getattr(self.engine, "close", None)
        if callable(close):
            close()

    def decide(self, document: dict[str, Any]) -> Ruling:
        """Evaluate; raises ``PolicyError`` when no version is loaded or the engine fails."""
        while True:
            loads, active = self._loads, self._active
            if loads % 2:  # a load is under way: wait for it, then decide under the new one
                with self._lock:
                    continue
            if active is None:
                raise PolicyEvaluationError("no policy version is active")
            text = canonical_json(document)
            evaluate_text = getattr(self.engine, "evaluate_text", None)
            verdict = evaluate_text(text) if evaluate_text else self.engine.evaluate(document)
            if self._loads == loads:  # no load began or ended meanwhile: active judged it
                return Ruling(verdict, active[0], active[1], sha256_hex(text))
