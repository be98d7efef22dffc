"""Does a recorded decision still stand (every decision is replayable)? One
guardrail decision, read from the event store by its id, judged again under the policy
version it names, by each engine asked for (regorus and OPA's Go evaluator by default),
so a compliance officer can show a regulator, years later, why a key result was allowed
or refused, and that anyone re-evaluating it gets the same answer.

The judging runs off the request path, in a review worker under the review budget (the
what-if's step, ``policies.whatif.judge_recorded``): the version named may not be the
active one, which an OPA server has not loaded and must not load; OPA's evaluator is
loaded in the worker instead. Like ``okrgov decisions replay``, a decision is judged
only when it is replayable (``policies.replay``) and its version's bundle still has the
digest it recorded; otherwise the answer says why not, and no engine answers. Records
nothing."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog

from policies.bundle import PolicyBundle, input_digest
from policies.engines import EngineName
from policies.review import PolicyReviews
from policies.whatif import judge_recorded
from services.application.decision_replay import version_bundle, why_not_judged
from services.application.decision_whatif import judge_item
from services.application.errors import Forbidden
from services.application.ledger_base import LedgerBase
from services.application.principals import OVERSEERS, Principal
from services.application.recorded_decisions import RecordedDecision, recorded_decision

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DecisionStanding:
    """``replay_decision``: one recorded decision judged again."""

    store: LedgerBase
    reviews: PolicyReviews

    def replay_decision(
        self, principal: Principal, decision_id: UUID, engines: Sequence[EngineName]
    ) -> dict[str, Any]:
        """The decision, whether it is replayable and its version's bundle unaltered, and
        per engine the answer now and whether it agrees with the recorded one; ``stands``
        when it was judged and every engine agrees. Overseers replay any decision, anyone
        else only their own (``Forbidden``); ``NotFound`` for an unknown id."""
        decision = recorded_decision(self.store, decision_id)
        if decision.actor != principal.user and not principal.oversees:
            raise Forbidden(
                f"you replay your own decisions only; everyone's are replayed by {OVERSEERS}"
            )
        number = decision.policy_version
        stored = version_bundle(self.store, number) if number is not None else None
        bundle_matches = stored is not None and stored[1] == decision.bundle_digest
        why = why_not_judged(decision, stored[1] if stored else None)
        not_judged = None if why is None else str(why)
        engines_found: list[dict[str, Any]] = []
        if not_judged is None and stored is not None:
            engines_found = self._judged(decision, stored[0], engines)
        stands = not_judged is None and all(e["agrees"] for e in engines_found)
        log.info(
            "decision.replayed",
            decision_id=str(decision.id),
            replayability=str(decision.replayability),
            bundle_matches=bundle_matches,
            stands=stands,
        )
        return {
            "decision_id": str(decision.id),
            "at": decision.at.isoformat(),
            "action": decision.action,
            "actor": decision.actor,
            "policy_version": number,
            "bundle_digest": decision.bundle_digest,
            "stored_bundle_digest": stored[1] if stored else None,
            "bundle_matches": bundle_matches,
            "replayability": str(decision.replayability),
            "input_digest": {
                "recorded": decision.input_digest,
                "recomputed": _recomputed(decision.input),
            },
            "not_judged": not_judged,
            "recorded": decision.answer.as_json(),
            "engines": engines_found,
            "stands": stands,
        }

    def _judged(
        self, decision: RecordedDecision, bundle: PolicyBundle, engines: Sequence[EngineName]
    ) -> list[dict[str, Any]]:
        """Each engine's answer, in one review (one worker, one review budget)."""
        recorded = decision.answer.as_json()
        found: list[dict[str, Any]] = []
        with self.reviews.review("the replay of a decision") as session:
            for engine in engines:
                judged = judge_recorded(session, bundle, [judge_item(decision)], engine, limit=1)
                differing = judged["items"]
                found.append(
                    {
                        "engine": engine,
                        "agrees": not differing,
                        "answer": differing[0]["proposed"] if differing else recorded,
                        "differs_in": differing[0]["differs_in"] if differing else [],
                    }
                )
        return found


def _recomputed(document: Any) -> str | None:
    """The digest of the input as stored now (None: none kept, or no longer JSON)."""
    if not isinstance(document, dict):
        return None
    try:
        return input_digest(document)
    except (TypeError, ValueError):
        return None
