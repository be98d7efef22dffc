"""Tamper evidence for the event store: signed checkpoints of its Merkle tree, the check
that recomputes the tree from the raw event table, and inclusion proofs.

Three records witness the history, each guarding the others:

* the event table itself (append-only by trigger, and by privilege on PostgreSQL);
* the leaf log (``projections/integrity.py``): each position's leaf hash as first seen;
* signed checkpoints, recorded in the store as ``Checkpoint.Signed`` events: the tree
  size, last position and root hash of the leaf log, signed with Ed25519.

``verify`` reads the event table directly and reports "intact up to position N" or the
first position that does not match, and why:

* ``changed``: the row's bytes no longer hash to the leaf recorded for its position;
* ``missing``: a position the leaf log recorded has no row (gaps the log never saw are
  not tampering: notification ids may legitimately skip);
* ``reordered``: the row at a position is the event recorded at another position;
* ``inserted``: a row at a position that held no event when the log passed it;
* ``unsigned`` / ``bad_signature``: a checkpoint whose signature is absent, or does not
  verify under this store's key;
* ``leaf_log_altered``: the rows match a signed checkpoint but the leaf log does not;
* ``checkpoint_mismatch``: rows and leaf log agree with each other but not with a signed
  root: both were rewritten somewhere in that checkpoint's range.
"""

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError, OperationalError
from eventsourcing.utils import get_topic

from events.checkpoint import Checkpoint, periodic_id, signed_message
from events.provenance import Stamp
from infra.config import Settings
from infra.logging import current_correlation_id, new_correlation_id
from infra.merkle import Frontier, audit_path, leaf_hash, verify_inclusion
from infra.signing import Signer, load_or_create_signer
from infra.stored_events import StoredEvents, StoredRow
from projections.integrity import INTEGRITY, LeafFollower, LeafLogView, LeafRecord, leaf_log_view
from services.errors import NotFound
from services.guard import SYSTEM_ACTOR
from services.ledger_base import LedgerBase

if TYPE_CHECKING:
    from services.bootstrap import Platform

log = structlog.get_logger(__name__)

CHECKPOINT_TOPIC = get_topic(Checkpoint.Signed)


@dataclass(frozen=True)
class Problem:
    """The first position that does not match, and why."""

    position: int
    reason: str
    message: str


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint as recorded, and whether its signature verifies under our key."""

    position: int
    tree_size: int
    last_position: int
    root_hash: str
    signed_at: str
    key_id: str
    status: str
    """``valid``, ``unsigned``, ``bad_signature`` (wrong key or signature) or ``unreadable``."""

    @property
    def signature_valid(self) -> bool:
        return self.status == VALID


VALID = "valid"


@dataclass(frozen=True)
class IntegrityReport:
    intact: bool
    checked_up_to: int
    """Intact: the last position checked. Not intact: the last position before the problem."""
    events_checked: int
    checkpoints_verified: int
    latest_checkpoint: SignedCheckpoint | None
    problem: Problem | None
    checkpoints: tuple[SignedCheckpoint, ...] = ()
    """Every checkpoint in the store, in position order, valid or not."""

    @property
    def status(self) -> str:
        return "intact" if self.intact else "tampered"

    def summary(self) -> str:
        if self.problem is None:
            return (
                f"intact up to position {self.checked_up_to} ({self.events_checked} events, "
                f"{self.checkpoints_verified} signed checkpoints verified)"
            )
        p = self.problem
        return f"NOT INTACT at position {p.position}: {p.reason}: {p.message}"


@dataclass(frozen=True)
class InclusionProof:
    """RFC 9162 audit path of one event under a signed checkpoint."""

    position: int
    leaf_index: int
    tree_size: int
    leaf_hash: str | None
    """Recomputed from the stored row now (None when the row is gone)."""
    recorded_leaf_hash: str
    root_hash: str
    audit_path: list[str]
    checkpoint: SignedCheckpoint
    included: bool


class Integrity:
    """Checkpoints, verification and proofs over one store."""

    def __init__(self, ledger: LedgerBase, follower: LeafFollower, signer: Signer) -> None:
        self.ledger = ledger
        self.follower = follower
        self.signer = signer

    @property
    def leaf_log(self) -> LeafLogView:
        return self.follower.view

    @property
    def events(self) -> StoredEvents:
        return self.follower.events

    # ---- checkpoints -------------------------------------------------------------------

    def record_checkpoint(
        self, reason: str = "on request", checkpoint_id: UUID | None = None
    ) -> SignedCheckpoint | None:
        """Sign the leaf log's current tree head and record it as an event. None when
        there is nothing to sign, or a periodic checkpoint of that slot already exists."""
        head = self.leaf_log.head()
        if head.size == 0:
            return None
        signed_at = datetime.now(UTC).isoformat()
        root_hash = head.root.hex()
        signature = self.signer.sign(
            signed_message(head.size, head.last_position, root_hash, signed_at)
        )
        checkpoint = Checkpoint.sign(
            tree_size=head.size,
            last_position=head.last_position,
            root_hash=root_hash,
            signed_at=signed_at,
            key_id=self.signer.key_id,
            public_key=self.signer.public_key_b64,
            signature=signature.hex(),
            stamp=Stamp(SYSTEM_ACTOR, current_correlation_id() or new_correlation_id()),
            reason=reason,
            checkpoint_id=checkpoint_id,
        )
        try:
            recorded = self.ledger._save(checkpoint)
        except IntegrityError:
            return None  # another process signed this periodic slot first
        log.info("integrity.checkpoint", tree_size=head.size, last_position=head.last_position)
        return SignedCheckpoint(
            recorded.position,
            head.size,
            head.last_position,
            root_hash,
            signed_at,
            self.signer.key_id,
            VALID,
        )

    def periodic_checkpoint(self, slot: int) -> None:
        every = self.follower.every
        self.record_checkpoint(f"every {every} events", periodic_id(every, slot))

    def checkpoints(self) -> list[SignedCheckpoint]:
        """Every checkpoint in the store, in position order, with its signature checked
        against this store's key (not the key the checkpoint names)."""
        found = []
        for position, event in self._checkpoint_events():
            found.append(self._checked(position, event))
        return found

    def _checkpoint_events(self) -> Iterator[tuple[int, Any]]:
        after = 0
        while True:
            page = self.ledger.recorder.select_notifications(
                start=after, limit=500, topics=[CHECKPOINT_TOPIC], inclusive_of_start=False
            )
            for notification in page:
                try:
                    yield notification.id, self.ledger.mapper.to_domain_event(notification)
                except Exception as exc:  # a rewritten row may not even decode
                    yield notification.id, exc
            if len(page) < 500:
                return
            after = page[-1].id

    def _checked(self, position: int, event: Any) -> SignedCheckpoint:
        if not isinstance(event, Checkpoint.Signed):
            return SignedCheckpoint(position, 0, 0, "", "", "", "unreadable")
        message = signed_message(
            event.tree_size, event.last_position, event.root_hash, event.signed_at
        )
        try:
            signature = bytes.fromhex(event.signature)
        except ValueError:
            signature = b"?"
        if not signature:
            status = "unsigned"
        elif self.signer.verify(message, signature):
            status = VALID
        else:
            status = "bad_signature"
        return SignedCheckpoint(
            position,
            event.tree_size,
            event.last_position,
            event.root_hash,
            event.signed_at,
            event.key_id,
            status,
        )

    # ---- verification ------------------------------------------------------------------

    def _catch_up(self, attempts: int = 3) -> None:
        """Log every row stored so far. Another process's follower may be writing the
        same batch (SQLite then refuses one of the two writers for a moment): retry."""
        for attempt in range(1, attempts + 1):
            try:
                self.follower.catch_up()
                return
            except OperationalError:
                if attempt == attempts:
                    raise
                time.sleep(0.05 * attempt)

    def verify(self) -> IntegrityReport:
        """Bring the leaf log up to date, then check the event table against it and
        against every signed checkpoint, in one streaming pass."""
        self._catch_up()
        checkpoints = self.checkpoints()
        check = _Check(self, checkpoints, self.leaf_log.position())
        return check.run(self.events.rows(), self.leaf_log.leaves())

    # ---- inclusion proofs --------------------------------------------------------------

    def prove(self, position: int) -> InclusionProof:
        """The audit path of the event at ``position`` under the latest checkpoint whose
        signature verifies, checked against the row's bytes as stored now."""
        self._catch_up()
        valid = [c for c in self.checkpoints() if c.signature_valid]
        if not valid:
            raise NotFound("signed checkpoint", "(none yet: run okrgov checkpoint)")
        checkpoint = valid[-1]
        recorded = self.leaf_log.leaf_at(position)
        if recorded is None:
            raise NotFound("event at position", position)
        if position > checkpoint.last_position:
            raise NotFound(
                "checkpoint covering position",
                f"{position} (the latest ends at {checkpoint.last_position})",
            )
        index = self.leaf_log.index_of(position)
        path = audit_path(index, checkpoint.tree_size, (r.leaf for r in self.leaf_log.leaves()))
        row = self.events.at(position)
        leaf = leaf_hash(row.leaf()) if row is not None else None
        root = bytes.fromhex(checkpoint.root_hash)
        included = leaf is not None and verify_inclusion(
            leaf, index, checkpoint.tree_size, path, root
        )
        return InclusionProof(
            position=position,
            leaf_index=index,
            tree_size=checkpoint.tree_size,
            leaf_hash=leaf.hex() if leaf else None,
            recorded_leaf_hash=recorded.leaf.hex(),
            root_hash=checkpoint.root_hash,
            audit_path=[p.hex() for p in path],
            checkpoint=checkpoint,
            included=included,
        )


@dataclass
class _Check:
    """One verification pass: rows and leaf log merged by position, two Merkle frontiers
    (over the rows' leaves and over the logged leaves) compared with each checkpoint."""

    integrity: Integrity
    checkpoints: list[SignedCheckpoint]
    log_tip: int
    rows_tree: Frontier = field(default_factory=Frontier)
    log_tree: Frontier = field(default_factory=Frontier)
    suspect: Problem | None = None
    found: Problem | None = None
    last_good: int = 0
    last_checked: int = 0
    checked: int = 0
    verified: int = 0
    vouched_up_to: int = 0

    def run(self, rows: Iterable[StoredRow], leaves: Iterable[LeafRecord]) -> IntegrityReport:
        key_id = self.integrity.signer.key_id
        signature_problems = [_signature_problem(c, key_id) for c in self.checkpoints]
        first_bad_signature = min(
            (p for p in signature_problems if p is not None),
            key=lambda p: p.position,
            default=None,
        )
        pending = sorted(
            (c for c in self.checkpoints if c.signature_valid), key=lambda c: c.last_position
        )
        for position, row, recorded in _merge(iter(rows), iter(leaves)):
            while pending and pending[0].last_position < position and self.found is None:
                self._settle(pending.pop(0))
            if self.found is not None:
                break
            if first_bad_signature and position > first_bad_signature.position:
                break
            self._compare(position, row, recorded)
        while pending and self.found is None:
            self._settle(pending.pop(0))
        problem = self.found or self.suspect
        if first_bad_signature and (
            problem is None or first_bad_signature.position < problem.position
        ):
            problem = first_bad_signature
        valid = [c for c in self.checkpoints if c.signature_valid]
        if problem is not None:
            up_to = min(self.last_good, problem.position - 1)
        else:
            up_to = self.last_checked
        return IntegrityReport(
            intact=problem is None,
            checked_up_to=up_to,
            events_checked=self.checked,
            checkpoints_verified=self.verified,
            latest_checkpoint=valid[-1] if valid else None,
            problem=problem,
            checkpoints=tuple(self.checkpoints),
        )

    def _compare(self, position: int, row: StoredRow | None, recorded: LeafRecord | None) -> None:
        """Add one position to both trees; the first mismatch becomes the suspect (only it
        is classified: later ones only feed the trees until a checkpoint settles it)."""
        if row is not None and recorded is None and position > self.log_tip:
            return  # recorded after the leaf log's last pass: nothing to check it against
        leaf = leaf_hash(row.leaf()) if row is not None else None
        if leaf is not None:
            self.rows_tree.append(leaf)
        if recorded is not None:
            self.log_tree.append(recorded.leaf)
        self.checked += 1
        self.last_checked = position
        if self.suspect is not None:
            return
        if row is not None and recorded is not None:
            if leaf != recorded.leaf:
                self.suspect = self._changed(row, recorded)
        elif recorded is not None:
            self.suspect = self._missing(recorded)
        else:
            self.suspect = Problem(
                position,
                "inserted",
                f"a row appeared at position {position}, which held no event when the leaf "
                "log passed it",
            )
        if self.suspect is None:
            self.last_good = position

    def _changed(self, row: StoredRow, recorded: LeafRecord) -> Problem:
        p, ident, version = row.position, row.originator_id, row.originator_version
        moved = (ident, version) != (recorded.originator_id, recorded.originator_version)
        if moved and ident is not None and version is not None:
            home = self.integrity.leaf_log.leaf_of(ident, version)
            if home is not None and leaf_hash(row._replace(position=home.position).leaf()) == (
                home.leaf
            ):
                return Problem(
                    p,
                    "reordered",
                    f"position {p} holds the event recorded at position {home.position} "
                    f"({_event(home)}): rows were moved",
                )
        return Problem(
            p,
            "changed",
            f"the row at position {p} ({_event(recorded)}) no longer matches the leaf "
            "recorded when it was first seen: its stored bytes were changed",
        )

    def _missing(self, recorded: LeafRecord) -> Problem:
        p = recorded.position
        if recorded.originator_id is not None and recorded.originator_version is not None:
            events = self.integrity.events
            now_at = events.position_of(recorded.originator_id, recorded.originator_version)
            moved = events.at(now_at) if now_at is not None else None
            if moved is not None and leaf_hash(moved._replace(position=p).leaf()) == (
                recorded.leaf
            ):
                return Problem(
                    p,
                    "reordered",
                    f"the event recorded at position {p} ({_event(recorded)}) is now stored "
                    f"at position {now_at}: rows were moved",
                )
        return Problem(
            p,
            "missing",
            f"the event recorded at position {p} ({_event(recorded)}) has no row any more",
        )

    def _settle(self, checkpoint: SignedCheckpoint) -> None:
        """Compare both trees with a checkpoint once every position it covers was read."""
        root = bytes.fromhex(checkpoint.root_hash)
        log_ok = self.log_tree.size == checkpoint.tree_size and self.log_tree.root() == root
        rows_ok = self.rows_tree.size == checkpoint.tree_size and self.rows_tree.root() == root
        where = f"the checkpoint at position {checkpoint.position}"
        if self.suspect is None and log_ok and rows_ok:
            self.verified += 1
            self.vouched_up_to = checkpoint.last_position
            return
        if self.suspect is not None:
            s = self.suspect
            if rows_ok and not log_ok:
                self.found = Problem(
                    s.position,
                    "leaf_log_altered",
                    f"the leaf log was edited at position {s.position}: the rows still match "
                    f"{where} (tree size {checkpoint.tree_size}), the leaf log does not",
                )
            else:
                self.found = Problem(s.position, s.reason, f"{s.message}; {where} confirms it")
            return
        first = self.vouched_up_to + 1
        self.found = Problem(
            first,
            "checkpoint_mismatch",
            f"positions {first} to {checkpoint.last_position} and their recorded leaves agree "
            f"with each other but not with the root signed in {where} (tree size "
            f"{checkpoint.tree_size}): a row and its leaf were both rewritten in that range",
        )
        self.last_good = min(self.last_good, self.vouched_up_to)


def _signature_problem(checkpoint: SignedCheckpoint, key_id: str) -> Problem | None:
    where = f"the checkpoint at position {checkpoint.position}"
    match checkpoint.status:
        case "valid":
            return None
        case "unsigned":
            return Problem(checkpoint.position, "unsigned", f"{where} carries no signature")
        case "unreadable":
            return Problem(checkpoint.position, "bad_signature", f"{where} cannot be read")
    named = (
        f"claims this store's key {key_id}"
        if checkpoint.key_id == key_id
        else f"names key {checkpoint.key_id}, not this store's key {key_id}"
    )
    return Problem(
        checkpoint.position,
        "bad_signature",
        f"the signature of {where} does not verify under this store's signing key (it {named})",
    )


def _event(record: LeafRecord) -> str:
    return f"event {record.originator_id} v{record.originator_version}"


def _merge(
    rows: Iterator[StoredRow], leaves: Iterator[LeafRecord]
) -> Iterator[tuple[int, StoredRow | None, LeafRecord | None]]:
    row, leaf = next(rows, None), next(leaves, None)
    while row is not None or leaf is not None:
        if leaf is None or (row is not None and row.position < leaf.position):
            assert row is not None
            yield row.position, row, None
            row = next(rows, None)
        elif row is None or leaf.position < row.position:
            yield leaf.position, None, leaf
            leaf = next(leaves, None)
        else:
            yield row.position, row, leaf
            row, leaf = next(rows, None), next(leaves, None)


# ---- wiring ----------------------------------------------------------------------------


def integrity_follower(ledger: LedgerBase, settings: Settings) -> LeafFollower:
    """The leaf-log follower of a platform, asking for a signed checkpoint every
    ``settings.checkpoint_every`` events."""
    events = StoredEvents(ledger.recorder)
    signer = load_or_create_signer(settings.signing_key, settings.data_dir)
    follower = LeafFollower(
        events, ledger.mapper, leaf_log_view(events), every=settings.checkpoint_every
    )
    follower.checkpoint_due = Integrity(ledger, follower, signer).periodic_checkpoint
    return follower


def integrity_of(platform: "Platform") -> Integrity:
    follower = platform.followers[INTEGRITY]
    assert isinstance(follower, LeafFollower)
    signer = load_or_create_signer(platform.settings.signing_key, platform.settings.data_dir)
    return Integrity(platform.ledger, follower, signer)
