"""policies.replay: a recorded answer against one judged again, in full (outcome, deny and
warn sets of {rule, message}); which decisions are replayable; the input's digest."""

from typing import Any

from policies.bundle import input_digest
from policies.engine import PolicyEvaluationError, Verdict, Violation
from policies.replay import Answer, Replayability, compare, judge, replayability

DOC: dict[str, Any] = {"action": "key_result.add", "resource": {"after": {"target": 8.0}}}
PAY = {"rule": "pay_linked", "message": "Pay-linked key results need approval."}
STALE = {"rule": "stale", "message": "No check-in for three weeks."}


def _verdict(deny: list[dict[str, str]], warn: list[dict[str, str]]) -> Verdict:
    return Verdict.of(deny, warn)


def test_the_same_answer_is_no_difference() -> None:
    recorded = Answer.recorded("denied", [PAY], [STALE])
    assert judge(recorded, DOC, lambda _doc: _verdict([PAY], [STALE])) is None


def test_an_outcome_that_changed_names_both_and_the_rules_on_each_side() -> None:
    recorded = Answer.recorded("denied", [PAY], [])
    difference = judge(recorded, DOC, lambda _doc: _verdict([], [STALE]))
    assert difference is not None
    assert difference.aspects == ["outcome", "deny", "warn"]
    shown = difference.as_json()
    assert shown["outcome"] == {"recorded": "denied", "now": "allowed"}
    assert shown["deny"] == {"only_recorded": [PAY], "only_now": []}
    assert shown["warn"] == {"only_recorded": [], "only_now": [STALE]}


def test_a_rule_that_fires_with_other_words_is_a_difference_of_its_set() -> None:
    recorded = Answer.recorded("denied", [PAY], [])
    reworded = {"rule": "pay_linked", "message": "Ask the committee first."}
    difference = judge(recorded, DOC, lambda _doc: _verdict([reworded], []))
    assert difference is not None
    assert difference.aspects == ["deny"]
    assert difference.as_json("proposed")["deny"] == {
        "only_recorded": [PAY],
        "only_proposed": [reworded],
    }


def test_an_evaluation_that_fails_now_is_the_outcome_error() -> None:
    def failing(_doc: dict[str, Any]) -> Verdict:
        raise PolicyEvaluationError("division by zero")

    difference = judge(Answer.recorded("allowed", [], []), DOC, failing)
    assert difference is not None and difference.now.error == "division by zero"
    assert difference.as_json()["outcome"] == {"recorded": "allowed", "now": "error"}


def test_answers_compare_as_sets() -> None:
    recorded = Answer.recorded("denied", [STALE, PAY], [])
    now = Answer.of(Verdict([Violation(**PAY), Violation(**STALE)], []))
    assert compare(recorded, now) is None


def test_which_decisions_are_replayable() -> None:
    digest = input_digest(DOC)
    assert replayability("allowed", DOC, digest) == Replayability.REPLAYABLE
    assert replayability("denied", DOC, digest) == Replayability.REPLAYABLE
    assert replayability("error", DOC, digest) == Replayability.ENGINE_ERROR
    assert replayability("denied", None, digest) == Replayability.NO_INPUT
    altered = {**DOC, "action": "key_result.revise"}
    assert replayability("allowed", altered, digest) == Replayability.INPUT_MISMATCH
    # 8.0 and 8 are other bytes of canonical JSON: a retyped number is an altered input.
    retyped = {"action": "key_result.add", "resource": {"after": {"target": 8}}}
    assert replayability("allowed", retyped, digest) == Replayability.INPUT_MISMATCH
