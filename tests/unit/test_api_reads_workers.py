"""A read route's wait (``deps.reads``): with one server process it waits for the caller's
last write as this process saw it; with several (``api_processes`` > 1) the caller's last
write may have been answered by another process, so it waits for the store's head."""

from types import SimpleNamespace
from typing import Any

import pytest

from projections.runner import AUDIT
from services.api.deps import reads
from services.application.principals import Principal

READER = Principal.of("tom", ["member"])


class FakePlatform:
    def __init__(self, processes: int, head: int) -> None:
        self.settings = SimpleNamespace(api_processes=processes)
        self.ledger = SimpleNamespace(recorder=SimpleNamespace(max_notification_id=lambda: head))
        self.projections = SimpleNamespace(view=lambda _name: object())
        self.waits: list[tuple[str, int, Any]] = []

    def wait_for(self, user: str, position: int = 0, *, views: Any) -> None:
        self.waits.append((user, position, tuple(views)))


@pytest.mark.parametrize(
    ("processes", "sent", "waited"), [(1, 0, 0), (1, 3, 3), (2, 0, 42), (2, 3, 42)]
)
def test_the_position_a_read_waits_for(processes: int, sent: int, waited: int) -> None:
    platform = FakePlatform(processes, head=42)
    reads(AUDIT)(platform, READER, sent)  # type: ignore[arg-type]
    assert platform.waits == [("tom", waited, (AUDIT,))]
