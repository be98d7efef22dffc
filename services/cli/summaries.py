"""The lines a projection worker (``okrgov projector``) says as it goes and when it stops
(``services.cli.progress.Every``): what it has applied, from the store or from Kafka."""

from typing import Any


class StoreViews:
    """Views that follow the store in this process: how far they have got since the start."""

    def __init__(self, platform: Any) -> None:
        self.platform = platform
        self.started = self.position()

    def position(self) -> int:
        """The position every view has reached (the lowest of theirs)."""
        followers = self.platform.followers.values()
        return min((f.view.position() for f in followers), default=0)

    def line(self) -> str:
        at = self.position()
        head = self.platform.ledger.recorder.max_notification_id() or 0
        return (
            f"applied events up to position {at} of {head} "
            f"({at - self.started} positions since it started)"
        )


def kafka_line(worker: Any) -> str:
    """What a Kafka worker (``KafkaSource``) has done since it started."""
    return (
        f"projector: applied {worker.applied} events from {worker.topic}; dropped "
        f"{worker.dropped} already applied, quarantined {worker.quarantined}"
    )
