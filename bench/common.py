"""What the benchmarks share: the principals and the seeded cycle they check in on, and
the raw baseline of a projection's catch-up (paging and decoding the notification log)."""

from datetime import date
from uuid import UUID

from events import Commitment, Level
from services.application.principals import Principal
from services.bootstrap import Platform

KEY_RESULTS_PER_OBJECTIVE = 5
EXECUTIVE = Principal.of("bench.exec", ["executive"])
OWNER = Principal.of("bench.owner", ["member"])


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
