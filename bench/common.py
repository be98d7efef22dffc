"""What the benchmarks share: the principals and the seeded cycle they check in on, the
raw baseline of a check-in (bare eventsourcing appending the same events: the check-in and
its decision, one save) and of a projection's catch-up (paging and decoding the
notification log)."""

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from events import Commitment, Level, Stamp
from events.decision import Decision, EventRef
from services.application.principals import Principal
from services.bootstrap import Platform

KEY_RESULTS_PER_OBJECTIVE = 5
EXECUTIVE = Principal.of("bench.exec", ["executive"])
OWNER = Principal.of("bench.owner", ["member"])


@dataclass
class Rate:
    """How many of something were done in how many seconds."""

    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")

    @property
    def micros_each(self) -> float:
        return self.seconds / self.count * 1e6 if self.count else 0.0


def seed(platform: Platform, key_results: int) -> list[UUID]:
    """One locked cycle; objectives of KEY_RESULTS_PER_OBJECTIVE key results each."""
    ledger = platform.ledger
    cycle = ledger.open_cycle(EXECUTIVE, "Bench cycle", date(2026, 1, 1), date(2026, 3, 31)).id
    ids: list[UUID] = []
    objective: UUID | None = None
    for i in range(key_results):
        if i % KEY_RESULTS_PER_OBJECTIVE == 0:
            objective = ledger.create_objective(
                EXECUTIVE,
                cycle,
                title=f"Objective {i // KEY_RESULTS_PER_OBJECTIVE}",
                owner=OWNER.user,
                level=Level.TEAM,
                commitment=Commitment.COMMITTED,
            ).id
        assert objective is not None
        definition = {
            "title": f"Key result {i}",
            "owner": OWNER.user,
            "unit": "%",
            "baseline": 0,
            "target": 100,
            "direction": "increase",
            "pay_linked": False,
        }
        ids.append(ledger.add_key_result(OWNER, objective, definition).id)
    ledger.lock_cycle(EXECUTIVE, cycle)
    return ids


def read_raw(platform: Platform, batch_size: int) -> int:
    """What the follower does minus the projection and the view: page and decode."""
    recorder, mapper = platform.ledger.recorder, platform.ledger.mapper
    position, decoded = 0, 0
    while True:
        notifications = recorder.select_notifications(
            start=position, limit=batch_size, inclusive_of_start=False
        )
        if not notifications:
            return decoded
        for n in notifications:
            mapper.to_domain_event(n)
        decoded += len(notifications)
        position = notifications[-1].id


# ---- the raw append of a check-in's events ---------------------------------------------


class Gauge(Aggregate):
    """The smallest aggregate that records what a key result check-in records."""

    @event("Started")
    def __init__(self, actor: str) -> None:
        del actor  # recorded on the event
        self.check_ins: list[tuple[float, float, str]] = []

    @event("CheckedIn")
    def check_in(
        self,
        value: float,
        confidence: float,
        note: str,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        del actor, correlation_id, reason  # recorded on the event
        self.check_ins.append((value, confidence, note))


class BareApp(Application[UUID]):
    """eventsourcing with nothing of ours on top."""

    name = "benchbare"


#: The fields of a ``Decision.Recorded`` event, less the stamp and the events it covers.
DecisionFields = dict[str, Any]

DECISION_FIELDS = (
    "action", "roles", "target_kind", "target_id", "outcome", "deny", "warn",
    "policy_version", "bundle_digest", "input_digest", "error", "objective_id", "input",
)  # fmt: skip


def decision_template(platform: Platform) -> DecisionFields:
    """The fields of the last check-in decision okrgov recorded (its input document
    included), for the bare path to record a decision of the same size and shape."""
    recorder, mapper = platform.ledger.recorder, platform.ledger.mapper
    top = recorder.max_notification_id() or 0
    for n in reversed(recorder.select_notifications(start=max(1, top - 50), limit=100)):
        recorded = mapper.to_domain_event(n)
        if isinstance(recorded, Decision.Recorded) and recorded.action == "key_result.check_in":
            fields = {name: getattr(recorded, name) for name in DECISION_FIELDS}
            fields["input"] = dict(fields["input"] or {})
            return fields
    raise RuntimeError("no check-in decision was recorded by the warm-up")


@dataclass(frozen=True)
class CheckIn:
    target: int  # index of the key result (or gauge)
    value: float
    confidence: float
    note: str


def workload(count: int, key_results: int, offset: int = 0) -> list[CheckIn]:
    """Deterministic check-ins, round-robin over the key results."""
    return [
        CheckIn(
            target=i % key_results,
            value=float(i % 100),
            confidence=round(0.5 + (i % 5) / 10, 2),
            note=f"weekly update {i}",
        )
        for i in range(offset, offset + count)
    ]


def new_gauges(app: BareApp, count: int) -> list[UUID]:
    gauges = [Gauge(actor=OWNER.user) for _ in range(count)]
    app.save(*gauges)
    return [g.id for g in gauges]


def run_bare(
    app: BareApp, gauges: Sequence[UUID], decision: DecisionFields, work: Sequence[CheckIn]
) -> int:
    """Per check-in: get the gauge, check in, and save it with a decision covering it."""
    get, save = app.repository.get, app.save
    document = decision["input"]
    for c in work:
        gauge: Gauge = get(gauges[c.target])
        correlation_id = uuid.uuid4().hex
        gauge.check_in(c.value, c.confidence, c.note, OWNER.user, correlation_id, None)
        after = {**document["resource"]["after"], "value": c.value, "confidence": c.confidence}
        verdict = Decision.record(
            **{**decision, "target_id": gauge.id, "input": {**document, "resource": {
                **document["resource"], "after": after}}},
            stamp=Stamp(OWNER.user, correlation_id),
            covers=[EventRef(gauge.id, gauge.version)],
        )  # fmt: skip
        save(gauge, verdict)
    return len(work)


# ---- PostgreSQL runs ----------------------------------------------------------------------


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A schema ``bench_<random>`` of its own for one run, dropped CASCADE after it (also
    on failure)."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield schema
    finally:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            conn.execute("SET lock_timeout = '30s'")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def redact(url: str) -> str:
    """A libpq URL as printed: its password masked."""
    parsed = urlsplit(url)
    if parsed.password is None:
        return url
    return urlunsplit(
        parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@"))
    )
