"""A key result's history from the audit trail: its events and its change requests'
events in store order; an allowed decision attached to the events it let through (its
rules read by oversight and by its actor only); a denied attempt an item of its own,
which only oversight and the person who tried see; check-ins with the week and the time."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from projections.entries import EntryQuery
from services.application import key_result_history
from services.application.principals import Principal

KR = "00000000-0000-4000-8000-000000000001"
CR = "00000000-0000-4000-8000-000000000002"
OBJ = "00000000-0000-4000-8000-000000000003"
WARN = [{"rule": "single_key_result", "message": "add another"}]


def entry(position: int, action: str, subject: str, actor: str, **more: Any) -> dict[str, Any]:
    decision = more.pop("decision", None)
    return {
        "position": position,
        "at": f"2026-11-{position:02d}T09:00:00.000000Z",
        "actor": actor,
        "action": action,
        "aggregate_id": subject,
        "objective_id": OBJ,
        "changes": more.pop("changes", {}),
        "reason": more.pop("reason", None),
        "details": more.pop("details", {}),
        "decision_id": decision,
        "decision_outcome": more.pop("outcome", "allowed" if decision else None),
        "policy_version": 1 if decision else None,
        "policy_digest": "d" * 64 if decision else None,
        "effective_on": more.pop("effective_on", None),
    }


def decided(position: int, ident: str, actor: str, target: str, outcome: str, **more: Any) -> Any:
    details = {"action": more.pop("action"), "target_id": target, "deny": [], "warn": []}
    details.update(more)
    return entry(position, "Decision.Recorded", ident, actor, decision=ident, outcome=outcome,
                 details=details)  # fmt: skip


ENTRIES = [
    entry(1, "KeyResult.Added", KR, "priya", decision="D1",
          changes={"target": {"before": None, "after": 8.0}}),
    decided(2, "D1", "priya", KR, "allowed", action="key_result.add", warn=WARN),
    entry(3, "KeyResult.CheckedIn", KR, "tom", decision="D3", effective_on="2026-11-02",
          changes={"value": {"before": None, "after": 13.0},
                   "confidence": {"before": None, "after": 0.6},
                   "note": {"before": None, "after": "late again"}}),
    decided(4, "D3", "tom", KR, "allowed", action="key_result.check_in"),
    decided(5, "D5", "tom", KR, "denied", action="change_request.request",
            deny=[{"rule": "pay_linked", "message": "no pay-linked"}]),
    entry(6, "ChangeRequest.Requested", CR, "tom", decision="D7", reason="slipped"),
    decided(7, "D7", "tom", CR, "allowed", action="change_request.request"),
    decided(8, "D8", "tom", "00000000-0000-4000-8000-0000000000ff", "denied",
            action="key_result.revise"),
]  # fmt: skip


class Trail:
    def pages(self, query: EntryQuery) -> list[dict[str, Any]]:
        return [
            e
            for e in ENTRIES
            if (query.aggregate_id is None or e["aggregate_id"] == query.aggregate_id)
            and (query.objective_id is None or e["objective_id"] == query.objective_id)
            and (query.action is None or e["action"] == query.action)
        ]


class Okr:
    def key_result(self, ident: UUID) -> dict[str, Any]:
        return {"id": str(ident), "objective_id": OBJ}

    def change_requests(self, targets: list[tuple[str, UUID]]) -> list[dict[str, Any]]:
        assert targets == [("key_result", UUID(KR))]
        return [{"id": CR}]


def history(user: str, *roles: str) -> list[dict[str, Any]]:
    found = key_result_history.history(
        Okr(),  # type: ignore[arg-type]
        Trail(),  # type: ignore[arg-type]
        Principal.of(user, roles or ["member"]),
        UUID(KR),
    )
    return list(found["items"])


def test_events_of_the_key_result_and_its_requests_in_store_order() -> None:
    items = history("marcus", "compliance")
    assert [(i["position"], i["kind"]) for i in items] == [
        (1, "added"), (3, "check_in"), (5, "decision"), (6, "change_request"),
    ]  # fmt: skip
    added, check_in, denied, requested = items
    assert added["decision"]["warn"] == WARN and added["decision"]["action"] == "key_result.add"
    assert check_in["effective_on"] == "2026-11-02" and check_in["actor"] == "tom"
    assert denied["decision"]["deny"] == [{"rule": "pay_linked", "message": "no pay-linked"}]
    assert denied["decision"]["outcome"] == "denied" and denied["changes"] == {}
    assert requested["reason"] == "slipped" and requested["subject_id"] == CR


def test_a_member_reads_the_history_and_only_their_own_decisions_rules() -> None:
    tom = history("tom")
    assert [i["position"] for i in tom] == [1, 3, 5, 6]
    assert tom[0]["decision"]["deny"] is None  # Priya's decision: outcome and version only
    assert tom[0]["decision"]["policy_version"] == 1
    assert tom[1]["decision"]["deny"] == []  # his own: read in full
    lena = history("lena")
    assert [i["position"] for i in lena] == [1, 3, 6]  # not Tom's denied attempt
    assert lena[1]["decision"]["warn"] is None


def test_every_check_in_with_its_week_and_time() -> None:
    found = key_result_history.check_ins(Trail(), UUID(KR))  # type: ignore[arg-type]
    assert found == [
        {"position": 3, "value": 13.0, "confidence": 0.6, "note": "late again",
         "effective_on": "2026-11-02", "at": "2026-11-03T09:00:00.000000Z", "by": "tom"},
    ]  # fmt: skip
