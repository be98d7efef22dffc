"""What a change request would change, field by field (``change_diff``), and who the
approvals inbox offers the decision to (``approvals_inbox``): the same people the
commands let decide."""

from typing import Any

import pytest

from services.application.approvals_inbox import (
    approver_roles,
    may_approve_policy,
    may_decide_change,
)
from services.application.change_diff import FieldChange, change_diff
from services.application.principals import Principal

KEY_RESULT = {"id": "kr", "title": "LP reporting turnaround", "target": 8, "baseline": 15,
              "owner": "tom", "status": "active"}  # fmt: skip


def request(**fields: Any) -> dict[str, Any]:
    return {"kind": "revise", "changes": {}, "retire": False, "status": "pending",
            "requested_by": "tom", **fields}  # fmt: skip


def test_a_revision_shows_each_field_it_names_now_and_proposed_in_a_fixed_order() -> None:
    asked = request(changes={"target": 10, "title": "LP turnaround", "owner": "lena"})
    assert change_diff(asked, KEY_RESULT) == [
        FieldChange("title", "LP reporting turnaround", "LP turnaround"),
        FieldChange("owner", "tom", "lena"),
        FieldChange("target", 8, 10),
    ]


def test_a_retirement_changes_the_status() -> None:
    asked = request(kind="retire", retire=True)
    assert change_diff(asked, KEY_RESULT) == [FieldChange("status", "active", "retired")]


def test_an_addition_has_no_before_and_ignores_any_target() -> None:
    asked = request(kind="add_key_result", changes={"target": 90, "title": "Complaints"})
    assert change_diff(asked, KEY_RESULT) == [
        FieldChange("title", None, "Complaints"),
        FieldChange("target", None, 90),
    ]


def test_a_request_written_before_kinds_were_recorded_reads_as_its_retire_flag() -> None:
    old = {"changes": {"target": 10}, "retire": False}
    assert change_diff(old, KEY_RESULT) == [FieldChange("target", 8, 10)]
    assert change_diff({"changes": {}, "retire": True}, KEY_RESULT)[0].after == "retired"


def test_the_approver_roles_come_from_the_policy_data_and_fail_closed() -> None:
    policy = {"data": {"change_approval": {"approver_roles": ["executive", 3]}}}
    assert approver_roles(policy) == {"executive"}
    assert approver_roles({"data": {"change_approval": {"approver_roles": "executive"}}}) == set()
    assert approver_roles({"data": {}}) == set()
    assert approver_roles(None) == set()


@pytest.mark.parametrize(
    ("user", "roles", "status", "expected"),
    [
        ("priya", ["executive"], "pending", True),
        ("tom", ["executive"], "pending", False),  # four eyes: never the requester
        ("sofia", ["member"], "pending", False),  # approver_role
        ("marcus", ["compliance", "executive"], "pending", False),  # compliance never writes
        ("priya", ["executive"], "applied", False),  # already decided
    ],
)
def test_who_may_decide_a_change_request(
    user: str, roles: list[str], status: str, expected: bool
) -> None:
    principal = Principal.of(user, roles)
    assert (
        may_decide_change(principal, request(status=status), frozenset({"executive"})) is expected
    )


@pytest.mark.parametrize(
    ("user", "roles", "expected"),
    [
        ("omar", ["risk_officer"], True),
        ("ana", ["risk_officer"], False),  # the proposer
        ("priya", ["executive"], False),
        ("both", ["compliance", "risk_officer"], False),
    ],
)
def test_who_may_approve_a_policy_version(user: str, roles: list[str], expected: bool) -> None:
    policy = {"status": "proposed", "proposed_by": "ana"}
    assert may_approve_policy(Principal.of(user, roles), policy) is expected
    assert not may_approve_policy(Principal.of(user, roles), {**policy, "status": "active"})
