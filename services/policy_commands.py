"""The guardrail policy lifecycle: a risk officer proposes a version (compiled on
proposal), a different risk officer approves it, which activates it and retires the one
before; and the what-if that shows an approver a version's effect on a cycle first."""

from typing import Any
from uuid import UUID

from events import Cycle, KeyResult
from events.policy import REGISTRY_ID, PolicyRegistry, PolicyVersion
from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.engine import PolicyEngine, Violation, compile_bundle
from services.errors import Forbidden
from services.guard import GuardedLedger, bundle_of
from services.guardrail_input import build_input
from services.ledger_base import Recorded, retry_on_conflict
from services.principals import Principal, Role


class PolicyCommands(GuardedLedger):
    """Commands on policy versions; four eyes is a rule of the domain, not of a policy."""

    @retry_on_conflict
    def propose_policy(
        self,
        principal: Principal,
        modules: dict[str, str],
        data: dict[str, Any],
        description: str,
    ) -> Recorded:
        """Record a proposed version; a bundle that does not compile is refused with the
        module and line (``PolicyCompileError``) and nothing is recorded."""
        principal.require(Role.RISK_OFFICER, to="propose a policy version")
        bundle = PolicyBundle(modules=modules, data=data)
        compile_bundle(bundle)
        stamp = self._stamp(principal)
        registry = self._load_registry()
        version = PolicyVersion.propose(
            registry.next_number, modules, data, description, bundle.digest(), stamp
        )
        registry.number(version, stamp)
        return self._save(version, registry)

    @retry_on_conflict
    def approve_policy(self, principal: Principal, policy_id: UUID) -> Recorded:
        """Activate a proposed version and retire the active one, in one save."""
        principal.require(Role.RISK_OFFICER, to="approve a policy version")
        stamp = self._stamp(principal)
        version = self._load(PolicyVersion, policy_id)
        registry = self._load_registry()
        version.approve(stamp)
        retired: list[PolicyVersion] = []
        if registry.active_id is not None:
            previous = self._load(PolicyVersion, registry.active_id)
            previous.retire(version.number, stamp)
            retired.append(previous)
        registry.activate(version, stamp)
        return self._save(version, registry, *retired)

    def simulate_policy(
        self, principal: Principal, policy_id: UUID, cycle_id: UUID
    ) -> dict[str, Any]:
        """Evaluate every live key result of a cycle under the active version and under
        the given one, and list what would newly be denied or warned, and no longer."""
        # A what-if records nothing, so compliance, which never writes, may run it too.
        if not principal.has(Role.RISK_OFFICER, Role.EXECUTIVE, Role.COMPLIANCE):
            raise Forbidden("only risk officers, executives and compliance simulate policies")
        proposed = self._load(PolicyVersion, policy_id, to_change=False)
        cycle = self._load(Cycle, cycle_id, to_change=False)
        registry = self.registry()
        active = self._load(PolicyVersion, registry.active_id, to_change=False)  # type: ignore[arg-type]
        engines = (EmbeddedEngine(bundle_of(active)), EmbeddedEngine(bundle_of(proposed)))
        changes = []
        evaluated = 0
        for objective in self._live_objectives(cycle):
            key_results = list(self._live_key_results(objective))
            for key_result in key_results:
                document = build_input(
                    "key_result.add", principal, "key_result", key_result.id, None,
                    dict(key_result.definition), objective=objective, cycle=cycle,
                    siblings=[k for k in key_results if k.id != key_result.id],
                )  # fmt: skip
                evaluated += 1
                before, after = (_findings(engine, document) for engine in engines)
                if before != after:
                    changes.append(_difference(key_result, before, after))
        return {
            "policy_id": str(proposed.id),
            "policy_version": proposed.number,
            "compared_with_version": active.number,
            "cycle_id": str(cycle.id),
            "key_results_evaluated": evaluated,
            "changes": changes,
        }

    def _load_registry(self) -> PolicyRegistry:
        return self._load(PolicyRegistry, REGISTRY_ID)


def _findings(engine: PolicyEngine, document: dict[str, Any]) -> dict[str, set[str]]:
    verdict = engine.evaluate(document)
    return {"deny": _rules(verdict.deny), "warn": _rules(verdict.warn)}


def _rules(violations: list[Violation]) -> set[str]:
    return {v.rule for v in violations}


def _difference(
    key_result: KeyResult, before: dict[str, set[str]], after: dict[str, set[str]]
) -> dict[str, Any]:
    return {
        "key_result_id": str(key_result.id),
        "title": key_result.title,
        "newly_denied": sorted(after["deny"] - before["deny"]),
        "no_longer_denied": sorted(before["deny"] - after["deny"]),
        "newly_warned": sorted(after["warn"] - before["warn"]),
        "no_longer_warned": sorted(before["warn"] - after["warn"]),
    }
