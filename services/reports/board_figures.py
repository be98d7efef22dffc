"""What the board pack works out from a snapshot document, beside the figures it prints as
recorded: people's names (from the directory, at render time: never from the document or
the events, so no digest depends on them), each key result's measure as it stood at lock
when a change after lock moved it (from the ``before`` of the snapshot's
``changes_after_lock``), the score it would have had against that measure (the same rule,
``events.scoring``), and, for a cycle not yet closed, progress toward each target.

Every figure is a function of the snapshot document (and the names), so a report stays
covered by the digest printed on it."""

from collections.abc import Mapping
from dataclasses import dataclass

from events.scoring import score_key_result
from events.values import ChangeKind, CycleState, Direction
from projections.documents import Document

#: A cycle in these states has been scored: its report is the quarter-end snapshot.
SCORED_STATES = frozenset({CycleState.CLOSED.value, CycleState.SEALED.value})
#: The fields of a key result's measure a change after lock can move and scoring reads.
MEASURE = ("baseline", "target", "direction")


def person(user_id: str | None, names: Mapping[str, str]) -> str:
    """``Priya Shah (priya)``; the bare user id when the directory has no name for it."""
    if not user_id:
        return "–"
    name = names.get(user_id)
    return f"{name} ({user_id})" if name and name != user_id else user_id


@dataclass(frozen=True)
class AtLock:
    """A key result's measure as it stood at lock, before changes after lock moved it."""

    baseline: float
    target: float
    direction: str
    changed_at: str
    """When the first change after lock that moved it was applied."""


def measures_at_lock(doc: Document) -> dict[str, AtLock]:
    """Key result id -> its measure at lock, for each key result whose baseline, target or
    direction a change after lock moved (the first change's ``before`` of each field; a
    field no change touched is as it is now). A key result changed and changed back is
    not listed."""
    first: dict[str, dict[str, object]] = {}
    for change in doc["changes_after_lock"]:
        key_result_id = change.get("key_result_id")
        before = change.get("before") or {}
        if key_result_id is None or change["kind"] != ChangeKind.REVISE.value:
            continue
        moved = {field: before[field] for field in MEASURE if field in before}
        if moved:
            found = first.setdefault(key_result_id, {"changed_at": change["applied_at"]})
            for field, value in moved.items():
                found.setdefault(field, value)
    key_results = {kr["id"]: kr for o in doc["objectives"] for kr in o["key_results"]}
    at_lock = {}
    for key_result_id, found in first.items():
        kr = key_results.get(key_result_id)
        if kr is None:
            continue
        measure = {field: found.get(field, kr[field]) for field in MEASURE}
        if all(measure[field] == kr[field] for field in MEASURE):
            continue
        at_lock[key_result_id] = AtLock(
            float(measure["baseline"]),  # type: ignore[arg-type]
            float(measure["target"]),  # type: ignore[arg-type]
            str(measure["direction"]),
            str(found["changed_at"]),
        )
    return at_lock


def score_against(measure: AtLock, final_value: float | None) -> float:
    """The score the key result would have had against ``measure``: the rule it was scored
    by, from the same final value (a key result never checked in on scores 0, as at close)."""
    if final_value is None:
        return 0.0
    return score_key_result(
        measure.baseline, measure.target, final_value, Direction(measure.direction)
    )


def progress(baseline: float, target: float, value: float | None) -> float | None:
    """How far ``value`` has come from baseline to target, from 0 to 1 (clamped, as a
    score is): the same fraction for an increase, a decrease or a milestone. None when
    there is no value yet."""
    if value is None:
        return None
    if target == baseline:
        return 1.0 if value == target else 0.0
    return round(min(1.0, max(0.0, (value - baseline) / (target - baseline))), 4)


def key_result_progress(kr: Document) -> float | None:
    """A key result's progress from its last check-in toward its target as it is now."""
    check_in = kr["last_check_in"]
    return progress(kr["baseline"], kr["target"], check_in["value"] if check_in else None)


def progress_against(measure: AtLock, kr: Document) -> float | None:
    """A key result's progress toward its measure at lock."""
    check_in = kr["last_check_in"]
    value = check_in["value"] if check_in else None
    return progress(measure.baseline, measure.target, value)


def objective_progress(objective: Document) -> float | None:
    """The mean progress of an objective's active key results (one never checked in on
    counts 0, as it would score); None when it has none."""
    live = [kr for kr in objective["key_results"] if kr["status"] == "active"]
    if not live:
        return None
    return round(sum(key_result_progress(kr) or 0.0 for kr in live) / len(live), 4)
