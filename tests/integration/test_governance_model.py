"""The proof that no role bypasses a lock, a guardrail or four-eyes approval: a stateful
property test (hypothesis ``RuleBasedStateMachine``) drives random sequences of commands by
random principals through the application service (the ledger), and after every step
checks the platform's promises against the events the store holds:

1. after lock, nothing that is scored (an objective's definition or existence, a key
   result's definition or existence, adding either) changed except through a change
   request approved by a different person in a role the active policy allows to approve;
   after close, nothing that is scored changed at all (but the scores of the close);
2. every policy activation was proposed by one risk officer and approved by another;
3. compliance never wrote;
4. a refused command recorded nothing but its denied (or failed) decision;
5. every actor on record is a canonical user id.

The principals are the cast of JOURNEYS.md in every role, owners and non-owners, with their
user ids spelt every which way (case, spaces, full width) through real tokens: so "Priya"
approving priya's request is the same person. Runs on SQLite and, with fewer examples, on
PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as run_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from okr_builders import definition

from events import ChangeRequest, Cycle, KeyResult, Objective
from events.decision import ALLOWED, Decision
from events.errors import DomainError, NotFound
from events.identity import InvalidUserId, is_canonical_user_id
from events.policy import PolicyVersion
from infra.config import Settings
from policies.engine import PolicyError
from services.application.errors import Conflict, Forbidden, GuardrailViolation, PolicyUnavailable
from services.application.principals import Principal, Role
from services.bootstrap import Platform, build

#: (user id as typed, roles) of every token the machine may act with.
CAST: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("priya", ("executive",)),
    ("Priya", ("executive",)),
    (" PRIYA ", ("executive",)),
    ("ｐｒｉｙａ", ("executive",)),
    ("omar", ("executive",)),
    ("tom", ("member",)),
    ("Tom", ("member",)),
    ("lena", ("member",)),
    ("LENA", ("member",)),
    ("ana", ("risk_officer",)),
    (" Ana", ("risk_officer",)),
    ("ravi", ("risk_officer",)),
    ("marcus", ("compliance",)),
    ("zoe", ("executive", "compliance")),
    ("sam", ("admin",)),
    ("nobody", ()),
)
#: Who acts: anyone in the cast, the owners and executives more often (so that commands
#: get through, and what comes after them is reached).
ANYONE = [w for w, _ in CAST]
MOSTLY_OWNERS = [*ANYONE, "priya", "Priya", "omar", "tom", "Tom", "lena", "priya", "tom"]
#: Who decides a request: anyone, executives (who may approve) more often.
MOSTLY_APPROVERS = [*ANYONE, "priya", " PRIYA ", "omar", "omar", "priya", "omar"]
#: The user ids of the cast, canonical (owners are drawn from them, spelt any way).
OWNERS = ("priya", "Priya", "tom", " TOM ", "lena", "omar", "ana")
COMPLIANCE_USERS = {"marcus", "zoe"}
RISK_OFFICERS = {"ana", "ravi"}
#: What a refused command may raise: a rule of the domain, of a role, of the guardrails,
#: or of the store. Anything else is a bug.
REFUSALS = (
    DomainError,
    Forbidden,
    NotFound,
    GuardrailViolation,
    PolicyUnavailable,
    PolicyError,
    Conflict,
    InvalidUserId,
)
SCORED = (
    Objective.Created,
    Objective.Revised,
    Objective.Reowned,
    Objective.Realigned,
    Objective.Retired,
    Objective.Amended,
    KeyResult.Added,
    KeyResult.Revised,
    KeyResult.Retired,
    Cycle.ObjectiveRegistered,
)
#: Direct changes to an objective: never recorded after lock.
DIRECT_ONLY = (Objective.Revised, Objective.Reowned, Objective.Realigned)


@dataclass
class Ledgerbook:
    """What the store says so far, folded in order: cycle states, which cycle each
    objective and key result is in, requests, policy versions; and every violation."""

    cycle_state: dict[UUID, str] = field(default_factory=dict)
    cycle_of: dict[UUID, UUID] = field(default_factory=dict)
    requests: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    proposers: dict[UUID, str] = field(default_factory=dict)
    approver_roles: dict[int, list[str]] = field(default_factory=dict)
    version_ids: dict[UUID, int] = field(default_factory=dict)
    decisions_covering: dict[tuple[UUID, int], Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def fold(self, saved: list[Any]) -> list[str]:
        """One save's events (judged with the decision saved beside them); returns what
        they broke."""
        known = len(self.violations)
        for event in saved:
            if isinstance(event, Decision.Recorded) and event.outcome == ALLOWED:
                for ident, version in event.covers:
                    self.decisions_covering[(UUID(str(ident)), version)] = event
        for event in saved:
            self._check(event)
            self._learn(event)
        return self.violations[known:]

    def _learn(self, e: Any) -> None:
        ident = e.originator_id
        if isinstance(e, Cycle.Created):
            self.cycle_state[ident] = "planning"
        elif isinstance(e, Cycle.Locked | Cycle.Closed | Cycle.Sealed):
            self.cycle_state[ident] = type(e).__name__.lower()
        elif isinstance(e, Objective.Created | KeyResult.Added):
            self.cycle_of[ident] = e.cycle_id
        elif isinstance(e, ChangeRequest.Requested):
            self.requests[ident] = {"requester": e.actor, "approver": None}
        elif isinstance(e, ChangeRequest.Approved):
            self.requests[ident]["approver"] = e.actor
        elif isinstance(e, PolicyVersion.Proposed):
            self.proposers[ident] = e.actor
            self.version_ids[ident] = e.number
            approval = e.data.get("change_approval", {}) if isinstance(e.data, dict) else {}
            self.approver_roles[e.number] = list(approval.get("approver_roles", []))

    def _check(self, e: Any) -> None:
        actor = getattr(e, "actor", "")
        if not is_canonical_user_id(actor):
            self.violations.append(f"actor {actor!r} of {type(e).__qualname__} not canonical")
        if actor in COMPLIANCE_USERS:
            self.violations.append(f"compliance wrote {type(e).__qualname__} as {actor}")
        if isinstance(e, PolicyVersion.Approved):
            proposer = self.proposers.get(e.originator_id)
            if proposer == actor and actor != "okrgov":
                self.violations.append(f"policy version approved by its proposer {actor}")
        if isinstance(e, SCORED):
            self._check_scored(e)

    def _check_scored(self, e: Any) -> None:
        cycle = (
            e.originator_id
            if isinstance(e, Cycle.ObjectiveRegistered)
            else self.cycle_of.get(e.originator_id, getattr(e, "cycle_id", None))
        )
        state = self.cycle_state.get(cycle, "planning") if cycle else "planning"
        what = f"{type(e).__qualname__} of {e.originator_id} in a {state} cycle"
        if state in ("closed", "sealed"):
            self.violations.append(what)
        if state != "locked":
            return
        if isinstance(e, DIRECT_ONLY):
            self.violations.append(f"{what}: a direct change after lock")
            return
        decision = self.decisions_covering.get((e.originator_id, e.originator_version))
        if decision is None or decision.action != "change_request.approve":
            self.violations.append(f"{what}, not through an approved change request")
            return
        request_id = getattr(e, "change_request_id", None) or decision.target_id
        request = self.requests.get(request_id) if request_id else None
        if isinstance(e, Cycle.ObjectiveRegistered):
            return  # the objective it registers is checked itself
        if request is None:
            self.violations.append(f"{what}: names no change request")
            return
        if request["requester"] == decision.actor:
            self.violations.append(f"{what}: approved by its requester {decision.actor}")
        allowed = set(self.approver_roles.get(decision.policy_version or 0, []))
        if not allowed & set(decision.roles):
            self.violations.append(
                f"{what}: approved by {decision.actor} ({decision.roles}), "
                f"not a role allowed to approve ({sorted(allowed)})"
            )


def governance_machine(platform: Platform) -> type[RuleBasedStateMachine]:  # noqa: C901 - its rules are one class
    """The state machine over one platform: each example opens its own cycles."""
    tokens = {who: platform.tokens.create(who, list(roles)) for who, roles in CAST}
    principals = {who: platform.tokens.authenticate(text) for who, text in tokens.items()}
    ledger = platform.ledger
    serial = itertools.count(1)  # cycle names are unique in the store every example shares
    book = Ledgerbook()
    book.fold(_events_since(platform, 0))
    read_up_to = [_position(platform)]

    class Governance(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.cycles: list[UUID] = []
            self.objectives: list[UUID] = []
            self.key_results: list[UUID] = []
            self.requests: list[UUID] = []
            self.policies: list[UUID] = []

        # ---- acting ----------------------------------------------------------------------

        def act(self, who: str, command: Callable[[Principal], Any]) -> UUID | None:
            """Run one command as ``who``; a refusal must record nothing but its decision."""
            principal = principals[who]
            before = _position(platform)
            try:
                recorded = command(principal)
            except REFUSALS:
                saved = _events_since(platform, before)
                kinds = {type(e).__qualname__ for e in saved}
                assert kinds <= {"Decision.Recorded"}, f"a refusal recorded {kinds}"
                assert all(e.outcome != ALLOWED and e.actor == principal.user for e in saved)
                assert len(saved) <= 1
                return None
            assert principal.user not in COMPLIANCE_USERS, "compliance wrote"
            return getattr(recorded, "id", None)

        @initialize(locked=st.sampled_from([True, True, False]))
        def a_quarter(self, locked: bool) -> None:
            """Priya's firm objective and Tom's team objective under it, a key result each;
            locked or still planning."""
            priya, tom = principals["priya"], principals["tom"]
            name = f"2026-Q4 ({next(serial)})"
            cycle = ledger.open_cycle(priya, name, date(2026, 10, 1), date(2026, 12, 31)).id
            firm = ledger.create_objective(
                priya, cycle, "Strengthen our operational infrastructure", "priya", "company",
                "committed",
            ).id  # fmt: skip
            team = ledger.create_objective(
                tom, cycle, "Give our LPs faster, cleaner reporting", "tom", "team",
                "committed", parent_id=firm,
            ).id  # fmt: skip
            self.cycles.append(cycle)
            self.objectives += [firm, team]
            self.key_results += [
                ledger.add_key_result(priya, firm, definition(owner="priya")).id,
                ledger.add_key_result(tom, team, definition(title="Reports sent on time")).id,
            ]
            if locked:
                ledger.lock_cycle(priya, cycle)
                asked = ledger.request_change(tom, self.key_results[1], {"target": 9}, "slipped")
                self.requests.append(asked.id)

        @precondition(lambda self: len(self.cycles) < 3)
        @rule(who=st.sampled_from(MOSTLY_OWNERS))
        def open_cycle(self, who: str) -> None:
            name = f"2027-Q1 ({next(serial)})"
            made = self.act(
                who, lambda p: ledger.open_cycle(p, name, date(2027, 1, 4), date(2027, 3, 31))
            )
            if made:
                self.cycles.append(made)

        @precondition(lambda self: self.cycles)
        @rule(
            data=st.data(),
            who=st.sampled_from(MOSTLY_OWNERS),
            owner=st.sampled_from(OWNERS),
            level=st.sampled_from(["company", "team", "individual"]),
        )
        def create_objective(self, data: Any, who: str, owner: str, level: str) -> None:
            cycle = data.draw(st.sampled_from(self.cycles))
            parent = data.draw(st.sampled_from([None, *self.objectives]))
            made = self.act(
                who,
                lambda p: ledger.create_objective(
                    p, cycle, "Give our LPs faster, cleaner reporting", owner, level,
                    "committed", parent_id=parent,
                ),
            )  # fmt: skip
            if made:
                self.objectives.append(made)

        @precondition(lambda self: self.objectives)
        @rule(
            data=st.data(),
            who=st.sampled_from(MOSTLY_OWNERS),
            owner=st.sampled_from(OWNERS),
            pay_linked=st.sampled_from([False, False, False, True]),
            rating=st.sampled_from([None, 2, 5]),
        )
        def add_key_result(
            self, data: Any, who: str, owner: str, pay_linked: bool, rating: int | None
        ) -> None:
            objective = data.draw(st.sampled_from(self.objectives))
            d = definition(owner=owner, pay_linked=pay_linked, risk_rating=rating)
            if rating is not None:
                d["risk_domain"] = "operational"
            made = self.act(who, lambda p: ledger.add_key_result(p, objective, d))
            if made:
                self.key_results.append(made)

        @precondition(lambda self: self.key_results)
        @rule(data=st.data(), who=st.sampled_from(MOSTLY_OWNERS), goal=st.integers(1, 14))
        def revise_key_result(self, data: Any, who: str, goal: int) -> None:
            kr = data.draw(st.sampled_from(self.key_results))
            self.act(who, lambda p: ledger.revise_key_result(p, kr, {"target": goal}, "x"))

        @precondition(lambda self: self.key_results)
        @rule(data=st.data(), who=st.sampled_from(MOSTLY_OWNERS))
        def retire_key_result(self, data: Any, who: str) -> None:
            kr = data.draw(st.sampled_from(self.key_results))
            self.act(who, lambda p: ledger.retire_key_result(p, kr, "not needed"))

        @precondition(lambda self: self.key_results)
        @rule(data=st.data(), who=st.sampled_from(MOSTLY_OWNERS))
        def check_in(self, data: Any, who: str) -> None:
            kr = data.draw(st.sampled_from(self.key_results))
            self.act(who, lambda p: ledger.check_in(p, kr, 12, 0.6, "weekly"))

        @precondition(lambda self: self.objectives)
        @rule(
            data=st.data(),
            who=st.sampled_from(MOSTLY_OWNERS),
            change=st.sampled_from(["revise", "reown", "realign", "retire"]),
            owner=st.sampled_from(OWNERS),
        )
        def change_objective(self, data: Any, who: str, change: str, owner: str) -> None:
            objective = data.draw(st.sampled_from(self.objectives))
            parent = data.draw(st.sampled_from([None, *self.objectives]))
            commands: dict[str, Callable[[Principal], Any]] = {
                "revise": lambda p: ledger.revise_objective(p, objective, title="A new aim"),
                "reown": lambda p: ledger.reown_objective(p, objective, owner, "handed over"),
                "realign": lambda p: ledger.realign_objective(p, objective, parent, "moved"),
                "retire": lambda p: ledger.retire_objective(p, objective, "dropped"),
            }
            self.act(who, commands[change])

        @precondition(lambda self: self.cycles)
        @rule(
            data=st.data(),
            who=st.sampled_from(MOSTLY_OWNERS),
            step=st.sampled_from(["lock", "close"]),
        )
        def move_cycle(self, data: Any, who: str, step: str) -> None:
            cycle = data.draw(st.sampled_from(self.cycles))
            if step == "lock":
                self.act(who, lambda p: ledger.lock_cycle(p, cycle))
            else:  # the cycles end after today: an early close, with its reason
                self.act(who, lambda p: ledger.close_cycle(p, cycle, "closed early"))

        @precondition(lambda self: self.key_results or self.objectives)
        @rule(
            data=st.data(),
            who=st.sampled_from(MOSTLY_OWNERS),
            kind=st.sampled_from(["kr", "kr_retire", "objective", "objective_retire", "add_kr",
                                  "add_objective"]),
            owner=st.sampled_from(OWNERS),
        )  # fmt: skip
        def request_change(self, data: Any, who: str, kind: str, owner: str) -> None:
            self.ask(data, who, kind, owner)

        @precondition(lambda self: self.key_results or self.objectives)
        @rule(
            data=st.data(),
            asker=st.sampled_from(MOSTLY_OWNERS),
            decider=st.sampled_from(MOSTLY_APPROVERS),
            kind=st.sampled_from(["kr", "kr_retire", "objective", "objective_retire", "add_kr",
                                  "add_objective"]),
            owner=st.sampled_from(OWNERS),
            approve=st.booleans(),
        )  # fmt: skip
        def ask_then_decide(
            self, data: Any, asker: str, decider: str, kind: str, owner: str, approve: bool
        ) -> None:
            """A request and, at once, someone's decision on it: where a bypass would hide."""
            request = self.ask(data, asker, kind, owner)
            if request is not None:
                verdict = ledger.approve_change if approve else ledger.reject_change
                self.act(decider, lambda p: verdict(p, request, "decided"))

        def ask(self, data: Any, who: str, kind: str, owner: str) -> UUID | None:
            if kind.startswith("kr") and not self.key_results:
                return None
            if not kind.startswith("kr") and kind != "add_objective" and not self.objectives:
                return None
            if kind == "add_objective" and not self.cycles:
                return None
            kr = data.draw(st.sampled_from(self.key_results)) if kind.startswith("kr") else None
            objective = (
                data.draw(st.sampled_from(self.objectives))
                if kind in ("objective", "objective_retire", "add_kr")
                else None
            )
            cycle = data.draw(st.sampled_from(self.cycles)) if kind == "add_objective" else None
            commands: dict[str, Callable[[Principal], Any]] = {
                "kr": lambda p: ledger.request_change(p, kr, {"target": 10}, "slipped"),  # type: ignore[arg-type]
                "kr_retire": lambda p: ledger.request_change(p, kr, {}, "gone", retire=True),  # type: ignore[arg-type]
                "objective": lambda p: ledger.request_objective_change(
                    p, objective, {"owner": owner, "title": "Sharper aim"}, "moved"  # type: ignore[arg-type]
                ),
                "objective_retire": lambda p: ledger.request_objective_change(
                    p, objective, {}, "dropped", retire=True  # type: ignore[arg-type]
                ),
                "add_kr": lambda p: ledger.request_key_result(
                    p, objective, definition(owner=owner), "a gap"  # type: ignore[arg-type]
                ),
                "add_objective": lambda p: ledger.request_objective(
                    p, cycle,  # type: ignore[arg-type]
                    {"title": "A late aim", "owner": owner, "level": "team",
                     "commitment": "aspirational"},
                    "new priority",
                ),
            }  # fmt: skip
            made = self.act(who, commands[kind])
            if made:
                self.requests.append(made)
            return made

        @precondition(lambda self: self.requests)
        @rule(
            data=st.data(),
            who=st.sampled_from(MOSTLY_APPROVERS),
            approve=st.booleans(),
        )
        def decide(self, data: Any, who: str, approve: bool) -> None:
            request = data.draw(st.sampled_from(self.requests))
            verdict = ledger.approve_change if approve else ledger.reject_change
            self.act(who, lambda p: verdict(p, request, "decided"))

        @precondition(lambda self: len(self.policies) < 2)
        @rule(
            who=st.sampled_from(["ana", " Ana", "ravi", "priya", "marcus"]),
            roles=st.sampled_from([["executive"], ["risk_officer"], ["executive", "admin"]]),
        )
        def propose_policy(self, who: str, roles: list[str]) -> None:
            active = ledger.registry()
            version = ledger.repository.get(active.active_id)
            data = {**version.data, "change_approval": {"approver_roles": roles}}
            made = self.act(
                who, lambda p: ledger.propose_policy(p, dict(version.modules), data, "who approves")
            )
            if made:
                self.policies.append(made)

        @precondition(lambda self: self.policies)
        @rule(data=st.data(), who=st.sampled_from(["ana", " Ana", "ravi", "priya", "marcus"]))
        def approve_policy(self, data: Any, who: str) -> None:
            policy = data.draw(st.sampled_from(self.policies))
            if self.act(who, lambda p: ledger.approve_policy(p, policy)) is None:
                return
            # Activated: proposed by one risk officer, approved by another.
            version = ledger.repository.get(policy)
            approver = principals[who]
            assert approver.has(Role.RISK_OFFICER) and approver.user != version.proposer
            assert version.proposer in RISK_OFFICERS

        # ---- the promises ----------------------------------------------------------------

        @invariant()
        def promises_hold(self) -> None:
            """Everything recorded since the last look keeps every promise."""
            saved = _events_since(platform, read_up_to[0])
            read_up_to[0] = _position(platform)
            broken = [v for batch in _saves(saved) for v in book.fold(batch)]
            assert not broken, broken

    return Governance


def _position(platform: Platform) -> int:
    return platform.ledger.recorder.max_notification_id() or 0


def _events_since(platform: Platform, position: int) -> list[Any]:
    notifications = platform.ledger.recorder.select_notifications(
        start=position, limit=100_000, inclusive_of_start=False
    )
    return [platform.ledger.mapper.to_domain_event(n) for n in notifications]


def _saves(events: list[Any]) -> Iterator[list[Any]]:
    """Events grouped by the save (command) that recorded them: one correlation id."""
    batch: list[Any] = []
    for event in events:
        if batch and event.correlation_id != batch[-1].correlation_id:
            yield batch
            batch = []
        batch.append(event)
    if batch:
        yield batch


@pytest.fixture
def model_platform(settings: Settings) -> Iterator[Platform]:
    platform = build(settings)
    try:
        yield platform
    finally:
        platform.close()


def test_no_role_bypasses_a_lock_a_guardrail_or_four_eyes(
    model_platform: Platform, settings: Settings, request: pytest.FixtureRequest
) -> None:
    postgres = "postgres" in request.node.callspec.id
    machine = governance_machine(model_platform)
    machine.TestCase.settings = settings_for(postgres)
    machine.TestCase().runTest()


def settings_for(postgres: bool) -> run_settings:
    return run_settings(
        max_examples=10 if postgres else 40,
        stateful_step_count=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def test_the_model_catches_a_bypass() -> None:
    """The ledgerbook is not blind: a change recorded after lock without a request and a
    compliance write are each named."""
    from events import Stamp

    book = Ledgerbook()
    stamp = Stamp("priya", "c-1")
    cycle = Cycle.open("Q", date(2027, 1, 1), date(2027, 3, 31), stamp)
    objective = Objective.create(cycle.id, "An aim", "", "tom", "team", "committed", None, stamp)
    cycle.register_objective(objective.id, stamp)
    book.fold(cycle.collect_events() + objective.collect_events())
    cycle.lock(stamp)
    book.fold(cycle.collect_events())
    objective.reown("lena", "sneaky", Stamp("marcus", "c-2"), "planning")  # type: ignore[arg-type]
    book.fold(objective.collect_events())
    assert any("direct change after lock" in v for v in book.violations)
    assert any("compliance wrote" in v for v in book.violations)
