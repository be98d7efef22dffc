"""Every decision replayable: each guardrail decision recorded in a period,
its recorded input judged again under the policy version it names, by the engine(s)
asked for, and compared with what was recorded (``policies.replay``).

Each version's bundle is read from the store once and loaded once per engine; decisions
stream from the store (``recorded_decisions``), so only the findings' tally and the
decisions that differ are kept. A version whose bundle no longer has the digest its
decisions recorded was altered after the fact: those decisions are not judged (as an
input that fails its digest)."""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from events.errors import NotFound
from events.policy import PolicyVersion
from policies.bundle import PolicyBundle
from policies.engine import PolicyEngine, PolicyError, Verdict
from policies.engines import EngineName, evaluator
from policies.replay import Difference, Evaluate, Replayability, judge
from services.application.guard import bundle_of
from services.application.ledger_base import LedgerBase
from services.application.recorded_decisions import RecordedDecision, recorded_decisions

#: A bundle's digest differs from the one its decisions recorded (the version was altered
#: or is missing).
BUNDLE_MISMATCH = "bundle_mismatch"
#: An answer of the policies recorded without the version that gave it.
NO_VERSION = "no_policy_version"


@dataclass(frozen=True)
class DecisionReplay:
    """One decision judged again: why it was not (``status``), or per engine how the
    answer differs now (None: the same answer)."""

    decision: RecordedDecision
    status: str
    differences: dict[str, Difference | None] = field(default_factory=dict)


@dataclass
class ReplayTally:
    """The counts of a replay."""

    engines: Sequence[str]
    considered: int = 0
    not_replayable: dict[str, int] = field(default_factory=dict)
    replayed: dict[str, int] = field(default_factory=dict)
    agreeing: dict[str, int] = field(default_factory=dict)
    differing: dict[str, int] = field(default_factory=dict)

    def add(self, found: DecisionReplay) -> None:
        self.considered += 1
        if found.status != Replayability.REPLAYABLE:
            self.not_replayable[found.status] = self.not_replayable.get(found.status, 0) + 1
        for engine, difference in found.differences.items():
            self.replayed[engine] = self.replayed.get(engine, 0) + 1
            counts = self.agreeing if difference is None else self.differing
            counts[engine] = counts.get(engine, 0) + 1

    @property
    def tampered(self) -> int:
        """Decisions whose input, or whose version's bundle, fails its recorded digest."""
        return self.not_replayable.get(Replayability.INPUT_MISMATCH, 0) + self.not_replayable.get(
            BUNDLE_MISMATCH, 0
        )

    @property
    def differences(self) -> int:
        return sum(self.differing.values())


class _Versions:
    """Each policy version's bundle read once, and loaded once per engine."""

    def __init__(
        self, store: LedgerBase, load: Callable[[EngineName, PolicyBundle], PolicyEngine]
    ) -> None:
        self.store = store
        self.load = load
        self._bundles: dict[int, tuple[PolicyBundle, str] | None] = {}
        self._engines: dict[tuple[EngineName, int], PolicyEngine | PolicyError] = {}

    def digest(self, number: int) -> str | None:
        """The digest of the version's bundle as stored now (None: no such version)."""
        found = self._bundle(number)
        return found[1] if found else None

    def evaluate(self, engine: EngineName, number: int) -> Evaluate:
        """The engine's evaluation under the version (one that raises the engine's
        refusal of the bundle, when it refused it: every answer is then that error)."""
        key = (engine, number)
        if key not in self._engines:
            self._engines[key] = self._loaded(engine, number)
        loaded = self._engines[key]
        return _refusing(loaded) if isinstance(loaded, PolicyError) else loaded.evaluate

    def close(self) -> None:
        """Release the engines that hold resources of their own (OPA's Go engines)."""
        for loaded in self._engines.values():
            close = getattr(loaded, "close", None)
            if callable(close) and not isinstance(loaded, PolicyError):
                close()

    def _bundle(self, number: int) -> tuple[PolicyBundle, str] | None:
        if number not in self._bundles:
            self._bundles[number] = version_bundle(self.store, number)
        return self._bundles[number]

    def _loaded(self, engine: EngineName, number: int) -> PolicyEngine | PolicyError:
        found = self._bundle(number)
        if found is None:
            raise NotFound("policy version", number)
        try:
            return self.load(engine, found[0])
        except PolicyError as exc:
            return exc


def version_bundle(store: LedgerBase, number: int) -> tuple[PolicyBundle, str] | None:
    """The bundle of policy version ``number`` as stored now, and its digest (None: no
    such version). A digest other than the one a decision recorded: the version was
    altered after the fact (``BUNDLE_MISMATCH``)."""
    versions = store.registry().versions
    if not 1 <= number <= len(versions):
        return None
    bundle = bundle_of(store.load(PolicyVersion, versions[number - 1], to_change=False))
    return bundle, bundle.digest()


def _refusing(error: PolicyError) -> Evaluate:
    def evaluate(_input: dict[str, Any]) -> Verdict:
        raise error

    return evaluate


def replay_decisions(
    store: LedgerBase,
    engines: Sequence[EngineName],
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    load: Callable[[EngineName, PolicyBundle], PolicyEngine] = evaluator,
) -> Iterator[DecisionReplay]:
    """Each decision recorded in [since, until), judged again under each engine."""
    versions = _Versions(store, load)
    try:
        for decision in recorded_decisions(store, since, until):
            yield _replayed(decision, engines, versions)
    finally:
        versions.close()


def _replayed(
    decision: RecordedDecision, engines: Sequence[EngineName], versions: _Versions
) -> DecisionReplay:
    number = decision.policy_version
    why = why_not_judged(decision, versions.digest(number) if number is not None else None)
    if why is not None:
        return DecisionReplay(decision, why)
    assert number is not None and decision.input is not None  # why_not_judged checked both
    differences: dict[str, Difference | None] = {
        engine: judge(decision.answer, decision.input, versions.evaluate(engine, number))
        for engine in engines
    }
    return DecisionReplay(decision, Replayability.REPLAYABLE, differences)


def why_not_judged(decision: RecordedDecision, stored_digest: str | None) -> str | None:
    """Why a decision is not judged again (None: it is): its replayability; a decision
    recorded without the version that gave it (``NO_VERSION``); or a version whose bundle,
    as stored now (``stored_digest``, None when it is missing), no longer has the digest
    the decision recorded (``BUNDLE_MISMATCH``)."""
    why = decision.replayability
    if why != Replayability.REPLAYABLE or decision.input is None:
        return why
    if decision.policy_version is None:
        return NO_VERSION
    if stored_digest != decision.bundle_digest:
        return BUNDLE_MISMATCH
    return None
