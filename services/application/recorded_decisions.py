"""Every guardrail decision the store records within a period, read straight from the
event store in position order, a page at a time (never the whole store in memory), for
whoever judges decisions again: ``okrgov decisions replay`` and the what-if's
``replayed_decisions``; and one decision by its id (``recorded_decision``), for
``GET /v1/decisions/{id}/replay``.

The period is the decisions' own time (the event's timestamp, stamped when the command
was judged): at or after ``since``, before ``until``. The event store is read rather than
a read model so a replay sees exactly what was recorded, not a projection of it."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from events.decision import Decision
from events.errors import NotFound
from infra.keyset import keyset_pages
from policies.replay import Answer, Replayability, replayability
from services.application.ledger_base import LedgerBase

_TOPICS = [get_topic(Decision.Recorded)]
PAGE_SIZE = 500


@dataclass(frozen=True)
class RecordedDecision:
    """One recorded decision, with what judging it again needs."""

    id: UUID
    position: int | None
    """The decision's position in the event store (None when read by id, where the
    aggregate's event does not carry it)."""
    at: datetime
    action: str
    actor: str
    policy_version: int | None
    bundle_digest: str | None
    answer: Answer
    input: dict[str, Any] | None
    input_digest: str

    @property
    def replayability(self) -> Replayability:
        return replayability(self.answer.outcome, self.input, self.input_digest)


def recorded_decisions(
    store: LedgerBase,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    page_size: int = PAGE_SIZE,
) -> Iterator[RecordedDecision]:
    """The decisions recorded in [since, until), in store order, up to the store's head
    when the walk began (a replay of a growing store still ends)."""
    head = store.recorder.max_notification_id() or 0

    def read(after: int, limit: int) -> Sequence[Notification]:
        return store.recorder.select_notifications(
            after, limit, stop=head, topics=_TOPICS, inclusive_of_start=False
        )

    for notification in keyset_pages(read, lambda n: n.id, page_size=page_size):
        event: Any = store.mapper.to_domain_event(notification)
        moment: datetime = event.timestamp
        if (since is None or moment >= since) and (until is None or moment < until):
            yield _recorded(notification.id, event)


def recorded_decision(store: LedgerBase, ident: UUID) -> RecordedDecision:
    """The decision recorded with this id, read from its ``Decision.Recorded`` event as
    stored (``NotFound`` when there is none, or the id is another aggregate's)."""
    event = next(iter(store.events.get(ident, lte=1)), None)
    if not isinstance(event, Decision.Recorded):
        raise NotFound("decision", ident)
    return _recorded(None, event)


def _recorded(position: int | None, event: Any) -> RecordedDecision:
    return RecordedDecision(
        id=event.originator_id,
        position=position,
        at=event.timestamp,
        action=event.action,
        actor=event.actor,
        policy_version=event.policy_version,
        bundle_digest=event.bundle_digest,
        answer=Answer.recorded(event.outcome, event.deny, event.warn),
        input=event.input,
        input_digest=event.input_digest,
    )
