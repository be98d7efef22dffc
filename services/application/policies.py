"""The guardrail policy lifecycle: the shipped bundle seeded as version 1, a risk officer
proposes a version (checked on proposal: compiled, its own tests, the shipped invariant
tests, the settings its rules read), a different risk officer approves it, which activates
it and retires the one before; and the what-if that shows an approver a version's effect
first: on a cycle's key results, on the active version's tests, and on recent denied
attempts.

Every proposal is also judged under both engines on the probe corpus
(``policies.divergence``); the report is recorded with the version, and a
version that diverges (or was not compared) is approved only with the divergence
acknowledged, which is recorded with the approval. The shipped seed is recorded as
``shipped``: its release's tests compare it, and a fresh store must start fast.

Proposal checks and what-ifs run in the review workers (``PolicyReviews``, processes of
their own), never on an OPA server: they evaluate bundles that are not active, which the
server has not loaded and must not load. A what-if judges under the engine that decides
commands (``PolicyReviews.engine``): regorus, or OPA's own Go evaluator in the worker. The
composition root hands both the decision point (to the guard) and the reviews (here)."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from events import Cycle, KeyResult, Stamp
from events.decision import DENIED, Decision
from events.policy import REGISTRY_ID, PolicyRegistry, PolicyVersion
from policies.bundle import TEST_SUFFIX, PolicyBundle, canonical_json, load_shipped_bundle
from policies.divergence import check_divergence, shipped_report
from policies.proposal_checks import check_proposal, require_passing
from policies.review import PolicyReviews
from policies.whatif import WhatIf, run_whatif
from services.application.decision_whatif import DecisionsToJudge, Period
from services.application.guard import SYSTEM_ACTOR, bundle_of, people_of
from services.application.guardrail_input import build_input
from services.application.ledger_base import LedgerBase, Recorded, retry_on_conflict
from services.application.principals import Principal, Role
from services.application.whatif_findings import cycle_change, replayed_denials, rules

log = structlog.get_logger(__name__)


def split_bundle(modules: dict[str, str], data: dict[str, Any]) -> PolicyBundle:
    """The bundle a proposal sends: ``*_test.rego`` modules are its tests (kept with the
    version, not part of its digest), the others its policy modules."""
    tests = {name: text for name, text in modules.items() if name.endswith(TEST_SUFFIX)}
    policy = {name: text for name, text in modules.items() if name not in tests}
    return PolicyBundle(modules=policy, data=data, tests=tests)


class PolicyCommands:
    """Commands on policy versions; four eyes is a rule of the domain, not of a policy.
    They are not guarded: the guardrails do not judge the guardrails."""

    def __init__(self, store: LedgerBase, reviews: PolicyReviews) -> None:
        self.store = store
        self.reviews = reviews

    def seed_policy(self) -> bool:
        """Make the shipped bundle version 1 of a store that has no policy yet; True when
        this call recorded it (a concurrent starter may have won the race instead)."""
        try:
            self.store.registry()
            return False
        except AggregateNotFoundError:
            pass
        bundle = load_shipped_bundle()
        stamp = Stamp(SYSTEM_ACTOR, "seed-policy")
        registry = PolicyRegistry(**stamp.fields("the bundle shipped with okrgov"))
        version = PolicyVersion.propose(
            registry.next_number, bundle.modules, bundle.data,
            "The guardrails shipped with okrgov", bundle.digest(), stamp, bundle.tests,
            shipped_report(),
        )  # fmt: skip
        registry.number(version, stamp)
        version.approve(stamp, seed=True)
        registry.activate(version, stamp)
        try:
            self.store.record(registry, version)
        except IntegrityError:
            return False
        return True

    def propose_policy(
        self,
        principal: Principal,
        modules: dict[str, str],
        data: dict[str, Any],
        description: str,
    ) -> Recorded:
        """Record a proposed version once it passes its checks, with its divergence report
        (``policies.divergence``: a divergence does not fail it). A bundle that does not
        compile raises ``PolicyCompileError`` (module and line); one that fails a check
        raises ``PolicyChecksFailed`` naming each failing test or setting. Either way
        nothing is recorded."""
        principal.require(Role.RISK_OFFICER, to="propose a policy version")
        bundle = split_bundle(modules, data)
        results = check_proposal(self.reviews, bundle)
        require_passing(results)
        log.info("policy.checked", checks=len(results), tests=len(bundle.tests))
        return self.record_proposal(principal, bundle, description)

    def record_proposal(
        self,
        principal: Principal,
        bundle: PolicyBundle,
        description: str,
        divergence: dict[str, Any] | None = None,
    ) -> Recorded:
        """Record a proposal whose checks have passed (or that a test records as is) with
        its divergence report: ``divergence`` when given, else the engines are compared
        now, so no version is recorded without one."""
        if divergence is None:
            divergence = check_divergence(self.reviews, bundle)
        return self._record_proposal(principal, bundle, description, divergence)

    @retry_on_conflict
    def _record_proposal(
        self,
        principal: Principal,
        bundle: PolicyBundle,
        description: str,
        divergence: dict[str, Any],
    ) -> Recorded:
        stamp = self.store.stamp(principal)
        registry = self._load_registry()
        version = PolicyVersion.propose(
            registry.next_number, bundle.modules, bundle.data, description, bundle.digest(),
            stamp, bundle.tests, divergence,
        )  # fmt: skip
        registry.number(version, stamp)
        return self.store.record(version, registry)

    @retry_on_conflict
    def approve_policy(
        self,
        principal: Principal,
        policy_id: UUID,
        *,
        acknowledge_divergence: bool = False,
        reason: str | None = None,
    ) -> Recorded:
        """Activate a proposed version and retire the active one, in one save. A version
        that diverges between engines (or was not compared) needs
        ``acknowledge_divergence`` and a ``reason`` (``DivergenceNotAcknowledged``)."""
        principal.require(Role.RISK_OFFICER, to="approve a policy version")
        stamp = self.store.stamp(principal)
        version = self.store.load(PolicyVersion, policy_id)
        registry = self._load_registry()
        version.approve(stamp, acknowledge_divergence=acknowledge_divergence, reason=reason)
        retired: list[PolicyVersion] = []
        if registry.active_id is not None:
            previous = self.store.load(PolicyVersion, registry.active_id)
            previous.retire(version.number, stamp)
            retired.append(previous)
        registry.activate(version, stamp)
        return self.store.record(version, registry, *retired)

    def simulate_policy(
        self,
        principal: Principal,
        policy_id: UUID,
        cycle_id: UUID | None,
        denied: Sequence[UUID] = (),
        decisions: Period | None = None,
        limit: int = 20,
    ) -> dict[str, Any]:
        """Judge under the active version and under the given one: every live key result
        of the cycle (what would newly be denied or warned, and no longer), the active
        version's tests (which of those it passes the given one fails), and the ``denied``
        decisions (recorded denied attempts: which the given one would allow). With
        ``decisions``, every decision recorded in that period judged again under the given
        one (``replayed_decisions``: the first ``limit`` that would differ, all counted).
        Runs in a review worker, bounded by the review budget; records nothing.

        Both versions, the replays and the versions' tests are evaluated in the review
        worker under the engine that decides commands (``engine`` in the report): with
        ``embedded``, regorus; with ``opa``, OPA's own Go evaluator loaded in the worker,
        the same evaluator an OPA server runs, since the proposed version is not active
        and must not be pushed to the shared server. Both sides run on that one evaluator,
        so the comparison is fair and its answer is the one commands would get. Where
        OPA's evaluator cannot be loaded, ``OpaUnavailable``: never regorus instead."""
        # A what-if records nothing, so compliance, which never writes, may run it too.
        principal.require_any(
            Role.RISK_OFFICER,
            Role.EXECUTIVE,
            Role.COMPLIANCE,
            refusal="only risk officers, executives and compliance simulate policies",
        )
        store = self.store
        proposed = store.load(PolicyVersion, policy_id, to_change=False)
        cycle = store.load(Cycle, cycle_id, to_change=False) if cycle_id else None
        registry = store.registry()
        active = store.load(PolicyVersion, registry.active_id, to_change=False)  # type: ignore[arg-type]
        key_results = self._cycle_key_results(principal, cycle)
        documents = [{"id": ident, "input": text} for ident, (_, text) in key_results.items()]
        attempts = [store.load(Decision, ident, to_change=False) for ident in denied]
        replayable = [a for a in attempts if a.outcome == DENIED and a.input is not None]
        to_judge = DecisionsToJudge(store, decisions) if decisions is not None else None
        report = run_whatif(
            self.reviews,
            WhatIf(
                active=bundle_of(active),
                proposed=bundle_of(proposed),
                documents=documents,
                replays=[{"id": str(a.id), "input": canonical_json(a.input)} for a in replayable],
                decisions=to_judge,
                limit=limit,
            ),
        )
        judged = report.get("decisions")
        changes = [
            cycle_change(key_results[item["id"]][0], item["active"], item["proposed"])
            for item in report["documents"]
            if rules(item["active"]) != rules(item["proposed"])
        ]
        return {
            "engine": report["engine"],
            "policy_id": str(proposed.id),
            "policy_version": proposed.number,
            "compared_with_version": active.number,
            "cycle_id": str(cycle.id) if cycle else None,
            "key_results_evaluated": len(documents),
            "changes": changes,
            "proposal_tests": report["proposal_tests"],
            "active_tests": {"version": active.number, **report["active_tests"]},
            "replayed_denials": replayed_denials(attempts, replayable, report["replays"]),
            "replayed_decisions": to_judge.report(judged, limit) if to_judge and judged else None,
            "over_budget": report["over_budget"] + (judged["over_budget"] if judged else []),
        }

    def _cycle_key_results(
        self, principal: Principal, cycle: Cycle | None
    ) -> dict[str, tuple[KeyResult, str]]:
        """Every live key result of the cycle (none without one), by id, with the input
        (canonical JSON) that adding it as it stands would be judged on."""
        found: dict[str, tuple[KeyResult, str]] = {}
        if cycle is None:
            return found
        for objective in self.store.live_objectives(cycle):
            siblings = list(self.store.live_key_results(objective))
            for key_result in siblings:
                document = build_input(
                    "key_result.add", principal, "key_result", key_result.id, None,
                    dict(key_result.definition), objective=objective, cycle=cycle,
                    siblings=[k for k in siblings if k.id != key_result.id],
                    people=people_of(self.store),
                )  # fmt: skip
                found[str(key_result.id)] = (key_result, canonical_json(document))
        return found

    def _load_registry(self) -> PolicyRegistry:
        return self.store.load(PolicyRegistry, REGISTRY_ID)
