"""Repudiating a checkpoint that does not verify (a process that signed with a key of its
own): four eyes, on the record, nothing deleted. An executive or an admin asks, with a
reason; another person in either role approves or rejects. Compliance never writes; other
roles may not. A checkpoint that verifies under the store's keys is never repudiated."""

from uuid import UUID

from events.checkpoint import Checkpoint
from events.errors import NotFound
from services.application.evidence.checkpoints import (
    CHECKPOINT_TOPIC,
    SignedCheckpoint,
    judged,
    recorded_checkpoints,
)
from services.application.evidence.keyring import recorded_keys
from services.application.ledger_base import LedgerBase, Recorded, retry_on_conflict
from services.application.principals import Principal, Role

#: Who may ask for, and decide, a repudiation (never the same person for both).
REPUDIATORS = (Role.EXECUTIVE, Role.ADMIN)


class Repudiations:
    """The repudiation commands over one store."""

    def __init__(self, ledger: LedgerBase) -> None:
        self.ledger = ledger
        self.conflict_budget_seconds = ledger.conflict_budget_seconds

    @retry_on_conflict
    def request(self, principal: Principal, position: int, reason: str | None) -> Recorded:
        principal.require(*REPUDIATORS, to="ask to repudiate a checkpoint")
        checkpoint, verifies = self._checkpoint_at(position)
        checkpoint.request_repudiation(self.ledger.stamp(principal), reason, verifies=verifies)
        return self.ledger.record(checkpoint)

    @retry_on_conflict
    def approve(self, principal: Principal, position: int, reason: str | None = None) -> Recorded:
        principal.require(*REPUDIATORS, to="approve a repudiation")
        checkpoint, _ = self._checkpoint_at(position)
        checkpoint.approve_repudiation(self.ledger.stamp(principal), reason)
        return self.ledger.record(checkpoint)

    @retry_on_conflict
    def reject(self, principal: Principal, position: int, reason: str | None = None) -> Recorded:
        principal.require(*REPUDIATORS, to="reject a repudiation")
        checkpoint, _ = self._checkpoint_at(position)
        checkpoint.reject_repudiation(self.ledger.stamp(principal), reason)
        return self.ledger.record(checkpoint)

    def checkpoint(self, position: int) -> SignedCheckpoint:
        """The checkpoint recorded at ``position``, judged, with its repudiation."""
        keyring = recorded_keys(self.ledger)
        found = [c for c in recorded_checkpoints(self.ledger, keyring) if c.position == position]
        if not found:
            raise NotFound("checkpoint at position", position)
        return found[0]

    def _checkpoint_at(self, position: int) -> tuple[Checkpoint, bool]:
        """The checkpoint aggregate recorded at ``position``, and whether it verifies
        under the store's keys."""
        page = self.ledger.recorder.select_notifications(
            start=position, limit=1, topics=[CHECKPOINT_TOPIC]
        )
        if not page or page[0].id != position:
            raise NotFound("checkpoint at position", position)
        try:
            event = self.ledger.mapper.to_domain_event(page[0])
        except Exception:
            raise NotFound("readable checkpoint at position", position) from None
        verdict = judged(position, event, recorded_keys(self.ledger))
        ident = event.originator_id
        assert isinstance(ident, UUID)
        return self.ledger.load(Checkpoint, ident), verdict.signature_valid
