"""The what-if's findings as the report shows them: what a proposed version changes for
each key result of the cycle, and which recorded denied attempts it would allow. The
worker (``policies.whatif_job``) answers rule ids per version; this compares them."""

from typing import Any

from events import KeyResult
from events.decision import Decision


def rules(verdict: dict[str, Any]) -> dict[str, set[str]]:
    """The rule ids of one version's answer (or its error), to compare two answers."""
    if "error" in verdict:
        return {"error": {verdict["error"]}}
    return {"deny": set(verdict["deny"]), "warn": set(verdict["warn"])}


def cycle_change(
    key_result: KeyResult, active: dict[str, Any], proposed: dict[str, Any]
) -> dict[str, Any]:
    """What the proposal changes for one key result of the cycle, rule by rule."""
    before, after = rules(active), rules(proposed)
    return {
        "key_result_id": str(key_result.id),
        "title": key_result.title,
        "newly_denied": sorted(after.get("deny", set()) - before.get("deny", set())),
        "no_longer_denied": sorted(before.get("deny", set()) - after.get("deny", set())),
        "newly_warned": sorted(after.get("warn", set()) - before.get("warn", set())),
        "no_longer_warned": sorted(before.get("warn", set()) - after.get("warn", set())),
        "error": proposed.get("error") or active.get("error"),
    }


def replayed_denials(
    attempts: list[Decision], replayable: list[Decision], verdicts: list[dict[str, Any]]
) -> dict[str, Any]:
    """Which recorded denied attempts the proposal would allow, or deny otherwise."""
    by_id = {item["id"]: item["proposed"] for item in verdicts}
    lifted, changed = [], []
    for attempt in replayable:
        verdict = by_id[str(attempt.id)]
        recorded = sorted({v["rule"] for v in attempt.deny})
        entry = {
            "decision_id": str(attempt.id),
            "action": attempt.action,
            "actor": attempt.actor,
            "policy_version": attempt.policy_version,
            "denied_by": recorded,
            "under_proposal": verdict.get("deny", []),
            "error": verdict.get("error"),
        }
        if "error" not in verdict and not verdict["deny"]:
            lifted.append(entry)
        elif verdict.get("deny") != recorded:
            changed.append(entry)
    return {
        "considered": len(attempts),
        "without_input": len(attempts) - len(replayable),
        "no_longer_denied": lifted,
        "denied_otherwise": changed,
    }
