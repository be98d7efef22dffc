"""policies.whatif_job.replay_decisions, as the review worker runs it: a page of recorded
decisions judged under a proposal, compared in full, counted, the first ``limit`` that
differ listed with both answers."""

from typing import Any

from policies import whatif_job

PROPOSAL = """\
package okrgov.guardrails

import rego.v1

deny contains {"rule": "too_far", "message": sprintf("target %v is too far", [input.target])} if {
	input.target > 10
}

warn contains {"rule": "watch", "message": "watch this"} if input.target > 5
"""
FAILING = """\
package okrgov.guardrails

import rego.v1

deny contains {"rule": "broken", "message": "x"} if 1 / input.target > 0
"""


def _decision(ident: str, target: float, outcome: str, deny: list[Any], warn: list[Any]) -> Any:
    return {
        "id": ident,
        "meta": {"decision_id": ident, "action": "key_result.add"},
        "input": {"target": target},
        "outcome": outcome,
        "deny": deny,
        "warn": warn,
    }


def _job(modules: dict[str, str], decisions: list[Any], limit: int = 10) -> Any:
    return {
        "proposed": {"modules": modules, "data": {}, "tests": {}},
        "decisions": decisions,
        "limit": limit,
        "budget": 5.0,
    }


WATCH = {"rule": "watch", "message": "watch this"}


def test_the_same_answers_are_unchanged_and_others_listed_in_full() -> None:
    decisions = [
        _decision("a", 3, "allowed", [], []),
        _decision("b", 7, "allowed", [], [WATCH]),
        _decision("c", 12, "allowed", [], [WATCH]),
        _decision("d", 8, "allowed", [], []),
    ]
    found = whatif_job.replay_decisions(_job({"p.rego": PROPOSAL}, decisions))
    assert (found["unchanged"], found["differing"], found["over_budget"]) == (2, 2, [])
    first, second = found["items"]
    assert first["decision_id"] == "c"
    assert first["outcome"] == {"recorded": "allowed", "proposed": "denied"}
    assert first["deny"]["only_proposed"] == [
        {"rule": "too_far", "message": "target 12 is too far"}
    ]
    assert first["proposed"]["warn"] == [WATCH] and first["recorded"]["outcome"] == "allowed"
    assert second["decision_id"] == "d"
    assert second["differs_in"] == ["warn"]
    assert second["warn"] == {"only_recorded": [], "only_proposed": [WATCH]}


def test_only_limit_are_listed_and_a_failing_rule_is_the_answer_error() -> None:
    decisions = [_decision(str(n), 0, "allowed", [], []) for n in range(3)]
    found = whatif_job.replay_decisions(_job({"f.rego": FAILING}, decisions, limit=1))
    assert (found["unchanged"], found["differing"], len(found["items"])) == (0, 3, 1)
    [item] = found["items"]
    assert item["outcome"] == {"recorded": "allowed", "proposed": "error"}
    assert item["error"] and item["proposed"]["error"] == item["error"]
