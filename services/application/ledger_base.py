"""The unit of work every command of the ledger shares: loading aggregates, stamping events
with the actor and correlation id, recording a command's events in one ``save()``, and
retrying a command that lost a race on an aggregate from fresh state (then answering
Conflict). The per-aggregate command modules (cycles, objectives, key results, change
requests, policies, snapshots) work through it; the guard is a collaborator beside it."""

import copy
import functools
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from events import Cycle, KeyResult, Objective, Stamp
from events.errors import InvalidValue, NotFound
from events.policy import REGISTRY_ID, PolicyRegistry
from infra.logging import correlated, current_correlation_id, new_correlation_id
from services.application.errors import Conflict
from services.application.principals import Principal

log = structlog.get_logger(__name__)

P = ParamSpec("P")
A = TypeVar("A", bound=Aggregate)
#: How long a command is retried from fresh state before it answers Conflict (409).
CONFLICT_BUDGET_SECONDS = 10.0
#: The longest pause between two attempts (jittered, growing from 1 ms).
MAX_BACKOFF_SECONDS = 0.05


@dataclass(frozen=True)
class Recorded:
    """What a command recorded: the aggregate it acted on and the store position of its
    last event, which readers wait for (read-your-writes)."""

    id: UUID
    position: int
    warnings: tuple[dict[str, str], ...] = ()
    """What the guardrails warned about this command (recorded with its decision)."""


class SubjectLocks:
    """Commands on one aggregate within one process take turns (a lock per aggregate id,
    striped), so sixteen clients checking in on one key result through one process wait
    for each other instead of racing to the store; writers in other processes still race,
    and lose to a retry, never to a lost write."""

    STRIPES = 128

    def __init__(self) -> None:
        self._locks = [threading.RLock() for _ in range(self.STRIPES)]

    def of(self, subject: UUID | None) -> AbstractContextManager[Any]:
        return self._locks[subject.int % self.STRIPES] if subject is not None else nullcontext()


def retry_on_conflict(command: Callable[P, Recorded]) -> Callable[P, Recorded]:
    """Re-run a command from fresh state when another writer got to an aggregate first,
    for up to the owner's ``conflict_budget_seconds``; then Conflict. The command's first
    id argument is its subject: commands on it in this process take turns (``SubjectLocks``
    of the owner, when it has them). A command module's owner is its ``store`` (the
    ledger), whose budget and locks it shares."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> Recorded:
        owner = args[0] if args else None
        owner = getattr(owner, "store", owner)
        budget = getattr(owner, "conflict_budget_seconds", CONFLICT_BUDGET_SECONDS)
        locks: SubjectLocks | None = getattr(owner, "subject_locks", None)
        subject = next((a for a in args[1:] if isinstance(a, UUID)), None)
        # Keep the request's correlation id, or give this command its own.
        turn = locks.of(subject) if locks is not None else nullcontext()
        with correlated(current_correlation_id(), command=command.__name__), turn:
            deadline = time.monotonic() + budget
            attempt = 0
            while True:
                attempt += 1
                try:
                    return command(*args, **kwargs)
                except IntegrityError:
                    log.info("command.conflict", attempt=attempt)
                    if time.monotonic() >= deadline:
                        break
                    pause = min(MAX_BACKOFF_SECONDS, 0.001 * 2**attempt)
                    time.sleep(random.uniform(pause / 2, pause))
        raise Conflict(
            f"{command.__name__}: the same records kept changing concurrently for "
            f"{budget:g} s ({attempt} attempts); retry the request"
        )

    return run


class LedgerBase(Application[UUID]):
    """The event-sourced application all okrgov commands run in (one store).

    Its helpers are public: the command modules beside the ledger (``cycles``,
    ``objectives``, ...) and the evidence commands share them as one unit of work:
    ``load`` an aggregate, ``stamp`` who acts, ``record`` a command's events in one save."""

    #: How long a command retries a conflict before answering 409 (see retry_on_conflict).
    conflict_budget_seconds = CONFLICT_BUDGET_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subject_locks = SubjectLocks()

    def load(self, cls: type[A], ident: UUID, *, to_change: bool = True) -> A:
        """Load an aggregate. One that is only read (``to_change=False``) comes straight
        from the cache; one to change is a copy (``copy_to_change``), so a command that
        fails part way leaves the cached aggregate as it was."""
        try:
            aggregate: Aggregate = self.repository.get(ident, deepcopy_from_cache=False)
        except AggregateNotFoundError:
            raise NotFound(_kind(cls), ident) from None
        if not isinstance(aggregate, cls):
            raise NotFound(_kind(cls), ident)
        return copy_to_change(aggregate) if to_change else aggregate

    def check_parent(self, cycle_id: UUID, parent_id: UUID | None, child: UUID | None) -> None:
        """A parent objective exists, belongs to the same cycle, and no loop forms."""
        seen = {child} if child else set()
        current = parent_id
        while current is not None:
            if current in seen:
                raise InvalidValue("this alignment would form a loop", field="parent_id")
            seen.add(current)
            try:
                parent = self.load(Objective, current, to_change=False)
            except NotFound:
                raise InvalidValue(
                    f"parent objective {current} does not exist", field="parent_id"
                ) from None
            if parent.cycle_id != cycle_id:
                raise InvalidValue(
                    "a parent objective must be in the same cycle", field="parent_id"
                )
            current = parent.parent_id

    def key_result_context(self, key_result_id: UUID) -> tuple[KeyResult, Objective, Cycle]:
        """A key result with its objective and cycle, which commands on it only read."""
        key_result = self.load(KeyResult, key_result_id)
        objective = self.load(Objective, key_result.objective_id, to_change=False)
        cycle = self.load(Cycle, key_result.cycle_id, to_change=False)
        return key_result, objective, cycle

    def live_objectives(self, cycle: Cycle, to_change: bool = False) -> Iterator[Objective]:
        for objective_id in cycle.objective_ids:
            objective = self.load(Objective, objective_id, to_change=to_change)
            if not objective.retired:
                yield objective

    def live_key_results(
        self, objective: Objective, to_change: bool = False, but: UUID | None = None
    ) -> Iterator[KeyResult]:
        for key_result_id in objective.key_result_ids:
            if key_result_id != but:
                key_result = self.load(KeyResult, key_result_id, to_change=to_change)
                if not key_result.retired:
                    yield key_result

    def registry(self) -> PolicyRegistry:
        """The policy registry (which version is active), read only; raises
        ``AggregateNotFoundError`` before the first version is seeded."""
        registry: PolicyRegistry = self.repository.get(REGISTRY_ID, deepcopy_from_cache=False)
        return registry

    def stamp(self, principal: Principal) -> Stamp:
        return Stamp(principal.user, current_correlation_id() or new_correlation_id())

    def record(
        self, subject: Aggregate, *others: Aggregate, warnings: Sequence[dict[str, str]] = ()
    ) -> Recorded:
        # One save() for the whole command, its events in the order they happened across
        # aggregates (approved, revised, applied), so the store reads as a true history.
        pending = [e for a in (subject, *others) for e in a.collect_events()]
        recordings = self.save(*sorted(pending, key=lambda e: e.timestamp))
        position = max(r.notification.id for r in recordings) if recordings else 0
        log.info(
            "command.recorded",
            aggregate_id=str(subject.id),
            events=[type(r.domain_event).__qualname__ for r in recordings],
            position=position,
        )
        return Recorded(subject.id, position, tuple(warnings))


def copy_to_change(aggregate: A) -> A:
    """A copy of a cached aggregate that a command may change without changing the cache:
    its attributes, and each list, dict or set among them, copied one level deep.

    eventsourcing's ``deepcopy`` copies every check-in of a key result on every command
    (a third of a check-in's cost at fifty check-ins). One level is enough because the
    domain (``events``) only ever assigns attributes or appends to a list attribute; what
    the containers hold (tuples, ids, frozen definitions, strings) is never changed in
    place. ``tests/unit/test_ledger_copy.py`` holds the domain to that."""
    copied = copy.copy(aggregate)
    state = copied.__dict__
    for name, value in state.items():
        if type(value) in _CONTAINERS:
            state[name] = value.copy()
    return copied


_CONTAINERS = (list, dict, set)


def _kind(cls: type[Aggregate]) -> str:
    return {
        "Cycle": "cycle",
        "Objective": "objective",
        "KeyResult": "key result",
        "ChangeRequest": "change request",
    }.get(cls.__name__, cls.__name__)
