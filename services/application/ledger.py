"""The OKR ledger: one store (``LedgerBase``, the unit of work every command shares) and
the commands on it, composed from one module per aggregate rather than inherited:

==================  =========================================================
``cycles``          open, lock, close a cycle
``objectives``      create, revise, re-own, re-align, retire an objective
``key_results``     add, revise, retire a key result; check in on it
``change_requests`` request a change after lock; approve (applies it), reject
``policies``        seed, propose, approve a policy version; simulate one
``snapshots``       seal a closed cycle; a cycle as of a position; verify a seal
==================  =========================================================

and ``decision_standing``: one recorded decision judged again under each engine.

Each command loads its aggregates, checks permissions, asks the guard (a collaborator
built with the decision point the composition root chose), lets the domain enforce its
invariants, and records all new events, with the guardrail decision, in one ``save()``.
The guard is asked before the domain acts, so a refused attempt is on record as a denied
decision."""

from typing import Any

from events.identity import SYSTEM
from policies.review import PolicyReviews
from services.application.change_requests import ChangeRequestCommands
from services.application.cycles import CycleCommands
from services.application.decision_standing import DecisionStanding
from services.application.directory import Directory
from services.application.guard import Guard
from services.application.key_results import KeyResultCommands
from services.application.ledger_base import LedgerBase, Recorded
from services.application.objectives import ObjectiveCommands
from services.application.policies import PolicyCommands
from services.application.snapshots import SnapshotCommands

__all__ = ["Guard", "Ledger", "Recorded"]


class Ledger(LedgerBase):
    """The OKR ledger application: cycles, objectives, key results, change requests,
    policy versions and snapshots, each command delegated to its aggregate's module."""

    # eventsourcing names an application after its class unless told otherwise; the name
    # picks the PostgreSQL events table (okrgov_events), so it is fixed here.
    name = SYSTEM

    def __init__(
        self,
        env: Any = None,
        *,
        guard: Guard | None = None,
        reviews: PolicyReviews | None = None,
    ) -> None:
        """``guard``: asks the decision point the composition root chose
        (``services.bootstrap``); without one (tools that only open the store) every
        guarded command is refused and the refusal recorded, fail closed. ``reviews``:
        where proposals are checked and what-ifs run (worker processes, started only when
        one is asked for)."""
        super().__init__(env=env)
        self.guard = guard if guard is not None else Guard(None)
        self.reviews = reviews if reviews is not None else PolicyReviews()
        cycles = CycleCommands(self, self.guard)
        objectives = ObjectiveCommands(self, self.guard)
        key_results = KeyResultCommands(self, self.guard)
        changes = ChangeRequestCommands(self, self.guard)
        policies = PolicyCommands(self, self.reviews)
        snapshots = SnapshotCommands(self, self.guard)
        #: The people directory, kept in this store; the guardrail input reads job roles
        #: from it. The composition root sets how often it is read again.
        self.directory = Directory(self, self.recorder, self.mapper)

        self.open_cycle = cycles.open_cycle
        self.lock_cycle = cycles.lock_cycle
        self.close_cycle = cycles.close_cycle

        self.create_objective = objectives.create_objective
        self.revise_objective = objectives.revise_objective
        self.reown_objective = objectives.reown_objective
        self.realign_objective = objectives.realign_objective
        self.retire_objective = objectives.retire_objective

        self.add_key_result = key_results.add_key_result
        self.revise_key_result = key_results.revise_key_result
        self.retire_key_result = key_results.retire_key_result
        self.check_in = key_results.check_in

        self.request_change = changes.request_change
        self.request_objective_change = changes.request_objective_change
        self.request_key_result = changes.request_key_result
        self.request_objective = changes.request_objective
        self.approve_change = changes.approve_change
        self.reject_change = changes.reject_change

        self.seed_policy = policies.seed_policy
        self.propose_policy = policies.propose_policy
        self.record_proposal = policies.record_proposal
        self.approve_policy = policies.approve_policy
        self.simulate_policy = policies.simulate_policy

        self.seal_cycle = snapshots.seal_cycle
        self.snapshot = snapshots.snapshot
        self.verify_seal = snapshots.verify_seal
        self.seal_of = snapshots.seal_of

        self.replay_decision = DecisionStanding(self, self.reviews).replay_decision

    def close(self) -> None:
        """Stop the policy worker processes and the decision point, then close the store."""
        self.reviews.close()
        self.guard.close()
        super().close()
