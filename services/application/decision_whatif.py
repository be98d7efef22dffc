"""The what-if's ``replayed_decisions``: what a proposed version would have decided on
what actually happened. Every decision recorded in a period (allowed and denied) whose
input is kept and intact is sent, a page at a time, to the review worker, judged there
under the proposal and compared in full with the recorded answer (``policies.replay``,
the comparison of ``okrgov decisions replay``); those that are not replayable are
counted apart, by why."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from policies.replay import Replayability
from services.application.ledger_base import LedgerBase
from services.application.recorded_decisions import RecordedDecision, recorded_decisions


@dataclass(frozen=True)
class Period:
    """Decisions recorded at or after ``since`` and before ``until`` (None: unbounded)."""

    since: datetime | None = None
    until: datetime | None = None


@dataclass
class DecisionsToJudge:
    """The replayable decisions of a period as the what-if's job items, streamed from the
    store; ``considered`` and ``not_replayable`` are complete once they have been read."""

    store: LedgerBase
    period: Period
    considered: int = 0
    not_replayable: Counter[str] = field(default_factory=Counter)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for decision in recorded_decisions(self.store, self.period.since, self.period.until):
            self.considered += 1
            why = decision.replayability
            if why != Replayability.REPLAYABLE or decision.input is None:
                self.not_replayable[why] += 1
                continue
            yield judge_item(decision)

    def report(self, judged: dict[str, Any], limit: int) -> dict[str, Any]:
        """The ``replayed_decisions`` section from the worker's findings."""
        differing = int(judged["differing"])
        return {
            "since": self.period.since.isoformat() if self.period.since else None,
            "until": self.period.until.isoformat() if self.period.until else None,
            "considered": self.considered,
            "replayed": int(judged["unchanged"]) + differing,
            "unchanged": int(judged["unchanged"]),
            "differing": differing,
            "not_replayable": sum(self.not_replayable.values()),
            "not_replayable_by_reason": {
                str(why): self.not_replayable.get(why, 0)
                for why in Replayability
                if why != Replayability.REPLAYABLE
            },
            "items": judged["items"][:limit],
            "left_out": differing - len(judged["items"][:limit]),
        }


def judge_item(decision: RecordedDecision) -> dict[str, Any]:
    """The decision as a ``replay_decisions`` item for the review worker
    (``policies.whatif.judge_recorded``)."""
    answer = decision.answer.as_json()
    return {
        "id": str(decision.id),
        "meta": {
            "decision_id": str(decision.id),
            "position": decision.position,
            "at": decision.at.isoformat(),
            "action": decision.action,
            "actor": decision.actor,
            "policy_version": decision.policy_version,
        },
        "input": decision.input,
        "outcome": answer["outcome"],
        "deny": answer["deny"],
        "warn": answer["warn"],
    }
