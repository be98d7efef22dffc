"""Tamper evidence in a process: the leaf log's follower and the process's signing key,
loaded once per process. ``services.application.evidence`` holds what they do; this module
only decides what they are given."""

from dataclasses import dataclass

from infra.config import Settings
from infra.signing import Signer
from infra.stored_events import StoredEvents
from projections.backends import leaf_log_view
from projections.leaf_log import LeafFollower
from services.application.evidence.signer import store_signer
from services.application.evidence.verification import Integrity
from services.application.ledger import Ledger


def leaf_log_follower(ledger: Ledger, settings: Settings) -> LeafFollower:
    """The leaf log's follower, asking for a signed checkpoint every
    ``settings.checkpoint_every`` events once ``Evidence.start_signing`` gave it a signer."""
    events = StoredEvents(ledger.recorder)
    return LeafFollower(
        events, ledger.mapper, leaf_log_view(events), every=settings.checkpoint_every
    )


@dataclass
class Evidence:
    """A process's tamper-evidence parts: the leaf log's follower, and this process's
    signing key, loaded (and checked against the store's keys) once per process, on the
    first signing step, never per request. Verifying needs no private key."""

    settings: Settings
    ledger: Ledger
    leaf_log: LeafFollower
    _signer: Signer | None = None

    def verifier(self, trusted_key: str | None = None) -> Integrity:
        """Verification and proofs over the store, judged by the public keys it records
        (and ``trusted_key``, the only one an auditor trusts, when given)."""
        return Integrity(self.ledger, self.leaf_log, trusted_key=trusted_key)

    def signer(self) -> Signer:
        """This process's signer, known to the store (its first key when it has none);
        ``SigningKeyRefused`` otherwise."""
        if self._signer is None:
            self._signer = store_signer(self.ledger, self.settings)
        return self._signer

    def signing(self) -> Integrity:
        """Checkpoints signed by this process, with a key the store knows."""
        return Integrity(self.ledger, self.leaf_log, signer=self.signer())

    def start_signing(self) -> None:
        """From now on the leaf log's follower signs a checkpoint every
        ``checkpoint_every`` events, with the store's key."""
        self.leaf_log.checkpoint_due = self.signing().periodic_checkpoint
