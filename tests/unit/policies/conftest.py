"""The shipped guardrail bundle, an engine on it, and input documents shaped as
policies/README.md describes (built around Tom's LP reporting turnaround)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from policies.bundle import PolicyBundle, load_shipped_bundle
from policies.embedded import EmbeddedEngine
from policies.input_values import basis_points

InputFactory = Callable[..., dict[str, Any]]

KEY_RESULT: dict[str, Any] = {
    "title": "LP reporting turnaround",
    "owner": "tom",
    "unit": "days",
    "baseline": 15,
    "target": 8,
    "direction": "decrease",
    "pay_linked": False,
    "risk_domain": "operational",
    "risk_rating": 2,
    "guardrail_metric": None,
}

SIBLING: dict[str, Any] = {
    **KEY_RESULT,
    "id": "kr-0",
    "title": "SOC 2 controls with evidence collected",
    "owner": "dmitri",
    "unit": "%",
    "baseline": 55,
    "target": 100,
    "direction": "increase",
}


def base_input(action: str = "key_result.add") -> dict[str, Any]:
    return {
        "action": action,
        "actor": {"id": "tom", "roles": ["member"]},
        "resource": {"kind": "key_result", "id": None, "before": None, "after": None},
        "objective": {
            "id": "obj-1",
            "title": "Give our LPs faster, cleaner reporting",
            "owner": "sofia",
            "level": "team",
            "commitment": "committed",
        },
        "siblings": [copy.deepcopy(SIBLING)],
        "cycle": {"id": "cycle-1", "name": "2026-Q4", "state": "planning"},
        "cycle_key_results": [],
        "change_request": None,
        "time": "2026-10-05T09:00:00+00:00",
        "people": copy.deepcopy(DIRECTORY),
    }


#: What the people directory says of the people the inputs name (the conduct rule reads
#: job roles here); nina is not in it.
DIRECTORY = {
    "tom": {"job_role": "investor_relations", "active": True},
    "sofia": {"job_role": "investor_relations", "active": True},
    "elena": {"job_role": "portfolio_manager", "active": True},
    "dmitri": {"job_role": "operations", "active": True},
}


@pytest.fixture(scope="session")
def shipped() -> PolicyBundle:
    return load_shipped_bundle()


@pytest.fixture(scope="session")
def engine(shipped: PolicyBundle) -> EmbeddedEngine:
    return EmbeddedEngine(shipped)


@pytest.fixture
def key_result_input() -> InputFactory:
    """An input for a key result command; keyword arguments change the definition, and
    ``without=[...]`` leaves fields out."""

    def build(
        action: str = "key_result.add",
        *,
        without: tuple[str, ...] = (),
        siblings: list[dict[str, Any]] | None = None,
        **changes: Any,
    ) -> dict[str, Any]:
        doc = base_input(action)
        after = {**KEY_RESULT, **changes}
        for field in without:
            del after[field]
        doc["resource"]["after"] = after
        if action != "key_result.add":
            doc["resource"]["id"] = "kr-1"
            doc["resource"]["before"] = dict(KEY_RESULT)
        if siblings is not None:
            doc["siblings"] = siblings
        return doc

    return build


@pytest.fixture
def sibling() -> Callable[..., dict[str, Any]]:
    def build(**changes: Any) -> dict[str, Any]:
        return {**SIBLING, **changes}

    return build


@pytest.fixture
def lock_input() -> Callable[[dict[str, list[float | None]]], dict[str, Any]]:
    """A cycle.lock input; the argument maps objective ids to their key results' latest
    confidences."""

    def build(confidences: dict[str, list[float | None]]) -> dict[str, Any]:
        doc = base_input("cycle.lock")
        doc["resource"] = {"kind": "cycle", "id": "cycle-1", "before": None, "after": None}
        doc["objective"] = None
        doc["siblings"] = []
        doc["cycle_key_results"] = [
            {
                "id": f"{objective}-kr-{i}",
                "objective_id": objective,
                "confidence": confidence,
                "confidence_basis_points": None if confidence is None else basis_points(confidence),
            }
            for objective, values in confidences.items()
            for i, confidence in enumerate(values)
        ]
        return doc

    return build


@pytest.fixture
def decision_input() -> Callable[[str, str], dict[str, Any]]:
    """Approving or rejecting (``action``) Tom's pending change request cr-1 as ``actor``."""

    def build(action: str, actor: str) -> dict[str, Any]:
        doc = base_input(action)
        doc["actor"] = {"id": actor, "roles": ["executive"]}
        doc["resource"] = {"kind": "change_request", "id": "cr-1", "before": None, "after": None}
        doc["siblings"] = []
        doc["cycle"]["state"] = "locked"
        doc["change_request"] = {
            "id": "cr-1",
            "requester": "tom",
            "status": "pending",
            "key_result_id": "kr-1",
        }
        return doc

    return build


@pytest.fixture
def objective_input() -> Callable[[str, str], dict[str, Any]]:
    """Creating or revising (``action``) an objective with this title."""

    def build(title: str, action: str = "objective.create") -> dict[str, Any]:
        doc = base_input(action)
        after = {"title": title, "owner": "priya", "level": "company", "commitment": "committed"}
        doc["resource"] = {"kind": "objective", "id": "obj-1", "before": None, "after": after}
        doc["siblings"] = []
        return doc

    return build
