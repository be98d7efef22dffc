"""Tamper evidence for the event store: signed checkpoints of its Merkle tree, the check
that recomputes the tree from the raw event table, and inclusion proofs.

Three records witness the history, each guarding the others:

* the event table itself (append-only by trigger, and by privilege on PostgreSQL);
* the leaf log (``projections/leaf_log.py``): each position's leaf hash as first seen;
* signed checkpoints, recorded in the store as ``Checkpoint.Signed`` events: the tree
  size, last position and root hash of the leaf log, signed with Ed25519 by a key whose
  public half the store records (``events.signing_keys``; verifying needs no private key).

``verify`` reads the event table directly and reports "intact up to position N" or the
first position that does not match, and why:

* ``changed``: the row's bytes no longer hash to the leaf recorded for its position;
* ``missing``: a position the leaf log recorded has no row (gaps the log never saw are
  not tampering: notification ids may legitimately skip);
* ``reordered``: the row at a position is the event recorded at another position;
* ``inserted``: a row at a position that held no event when the log passed it;
* ``leaf_log_altered``: the rows match a signed checkpoint but the leaf log does not;
* ``checkpoint_mismatch``: rows and leaf log agree with each other but not with a signed
  root: both were rewritten somewhere in that checkpoint's range.

Rows are compared with the checkpoints that verify. One that does not (unsigned, a bad
signature, an unknown key: ``services.application.evidence.checkpoints``) is reported beside
the rows' verdict, never instead of it, until it is repudiated.


Over 300 lines on purpose: the verdicts above are decided by one walk over rows, leaf log
and checkpoints; split, the order of the checks would no longer be visible in one place."""

import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError, OperationalError

from events.checkpoint import Checkpoint, periodic_id, signed_message
from events.errors import NotFound
from events.provenance import Stamp
from events.signing_keys import SigningKey
from infra.collector import collector_paused
from infra.logging import current_correlation_id, new_correlation_id
from infra.merkle import (
    Frontier,
    consistency_path,
    inclusion_path,
    leaf_hash,
    range_root,
    verify_consistency,
    verify_inclusion,
)
from infra.signing import Signer
from infra.stored_events import StoredEvents, StoredRow
from projections.leaf_log import LeafFollower, LeafLogView, LeafRecord
from projections.leaf_tree import TreeReader
from services.application.evidence.checkpoints import VALID, SignedCheckpoint, recorded_checkpoints
from services.application.evidence.keyring import Keyring, recorded_keys
from services.application.evidence.latest import latest_valid_checkpoint
from services.application.guard import SYSTEM_ACTOR
from services.application.ledger_base import LedgerBase

log = structlog.get_logger(__name__)

_PAGE = 2000
"""Rows (and their recorded leaves) read per page by ``verify``."""

__all__ = ["VALID", "Integrity", "IntegrityReport", "SignedCheckpoint"]


@dataclass(frozen=True)
class Discrepancy:
    """The first position that does not match, and why: a finding about the stored rows
    (shown as the report's ``problem``), not an API error (``services.api.errors.Problem``)."""

    position: int
    reason: str
    message: str


#: ``okrgov verify``'s exit codes, by ``IntegrityReport.status``: the rows' state first
#: (tampered), then trust in the keys, then checkpoints that do not verify.
EXIT_CODES = {"intact": 0, "tampered": 1, "untrusted_key": 4, "rogue_checkpoints": 3}


@dataclass(frozen=True)
class IntegrityReport:
    rows_intact: bool
    """Every row matches its leaf and every checkpoint that verifies."""
    checked_up_to: int
    """Rows intact: the last position checked. Not: the last position before the problem."""
    events_checked: int
    checkpoints_verified: int
    latest_checkpoint: SignedCheckpoint | None
    problem: Discrepancy | None
    """The first position whose row does not match, and why (None: rows intact)."""
    checkpoints: tuple[SignedCheckpoint, ...] = ()
    """Every checkpoint in the store, in position order, valid or not."""
    signing_keys: tuple[SigningKey, ...] = ()
    """The public keys the store records, the genesis key first."""
    trusted_key: str | None = None
    """The fingerprint an auditor pinned (``okrgov verify --trusted-key``), if any."""
    trust_problem: str | None = None
    """Why the pinned key is not the store's (None: none pinned, or it is)."""

    @property
    def rogue_checkpoints(self) -> tuple[SignedCheckpoint, ...]:
        """Checkpoints that do not verify and are not repudiated."""
        return tuple(c for c in self.checkpoints if c.rogue)

    @property
    def repudiated_checkpoints(self) -> tuple[SignedCheckpoint, ...]:
        return tuple(c for c in self.checkpoints if c.repudiated)

    @property
    def intact(self) -> bool:
        """Rows intact, the pinned key (if any) is the store's, no rogue checkpoint."""
        return self.status == "intact"

    @property
    def status(self) -> str:
        if not self.rows_intact:
            return "tampered"
        if self.trust_problem is not None:
            return "untrusted_key"
        return "rogue_checkpoints" if self.rogue_checkpoints else "intact"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def summary(self) -> str:
        """One line: the rows' verdict, then what else failed."""
        if self.problem is not None:
            p = self.problem
            line = f"NOT INTACT at position {p.position}: {p.reason}: {p.message}"
        else:
            rows = "intact" if self.intact else "rows intact"
            line = (
                f"{rows} up to position {self.checked_up_to} ({self.events_checked} events, "
                f"{self.checkpoints_verified} signed checkpoints verified)"
            )
        if self.trust_problem is not None:
            line += f"; UNTRUSTED KEY: {self.trust_problem}"
        rogue = self.rogue_checkpoints
        if rogue:
            where = ", ".join(str(c.position) for c in rogue)
            line += f"; {len(rogue)} checkpoint(s) do not verify (at position {where})"
        repudiated = self.repudiated_checkpoints
        if repudiated:
            where = ", ".join(str(c.position) for c in repudiated)
            line += f"; {len(repudiated)} repudiated checkpoint(s) (at position {where})"
        return line

    def details(self) -> list[str]:
        """A line per signing key, rogue and repudiated checkpoint, for a person."""
        lines = [
            f"signing key {k.fingerprint}"
            + (" (genesis)" if i == 0 else "")
            + (" (trusted)" if k.fingerprint == self.trusted_key else "")
            for i, k in enumerate(self.signing_keys)
        ]
        if not self.signing_keys:
            lines.append("signing key: none recorded yet")
        lines += [f"ROGUE {c.describe()}" for c in self.rogue_checkpoints]
        lines += [f"REPUDIATED {c.describe()}" for c in self.repudiated_checkpoints]
        return lines


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


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 9162 consistency proof between two sizes of the leaf log's tree."""

    old_size: int
    tree_size: int
    old_root_hash: str
    root_hash: str
    path: list[str]
    consistent: bool


class Integrity:
    """Checkpoints, verification and proofs over one store."""

    def __init__(
        self,
        ledger: LedgerBase,
        follower: LeafFollower,
        signer: Signer | None = None,
        trusted_key: str | None = None,
    ) -> None:
        """``signer``: only to record checkpoints (verifying never needs it);
        ``trusted_key``: the fingerprint of the only key an auditor trusts."""
        self.ledger = ledger
        self.follower = follower
        self.signer = signer
        self.trusted_key = trusted_key

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
        if self.signer is None:
            raise RuntimeError("recording a checkpoint needs the store's signer (store_signer)")
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
            recorded = self.ledger.record(checkpoint)
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
            self.signer.fingerprint,
            str(checkpoint.id),
        )

    def periodic_checkpoint(self, slot: int) -> None:
        every = self.follower.every
        self.record_checkpoint(f"every {every} events", periodic_id(every, slot))

    def keyring(self) -> Keyring:
        return recorded_keys(self.ledger)

    def checkpoints(self, keyring: Keyring | None = None) -> list[SignedCheckpoint]:
        """Every checkpoint in the store, in position order, judged against the keys the
        store records (and the trusted key, if pinned), never against a key held here."""
        keyring = keyring if keyring is not None else self.keyring()
        return recorded_checkpoints(self.ledger, keyring, self.trusted_key)

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

    def verify(self, progress: Callable[[int], None] | None = None) -> IntegrityReport:
        """Bring the leaf log up to date, then check the event table against it and
        against every signed checkpoint, in one streaming pass (``progress`` is told the
        last position checked after each page)."""
        self._catch_up()
        keyring = self.keyring()
        checkpoints = self.checkpoints(keyring)
        check = _Check(self, checkpoints, self.leaf_log.position(), progress)
        report = check.run(self.events, self.leaf_log)
        return replace(
            report,
            signing_keys=keyring.keys,
            trusted_key=self.trusted_key,
            trust_problem=self._trust_problem(keyring),
        )

    def _trust_problem(self, keyring: Keyring) -> str | None:
        if self.trusted_key is None:
            return None
        if keyring.unreadable or not keyring.keys:
            return f"{keyring.describe()}, so none is the trusted key {self.trusted_key}"
        if keyring.named(self.trusted_key) is None:
            return (
                f"the store's signing key is {keyring.describe()}, not the trusted key "
                f"{self.trusted_key}: no checkpoint of this store is trusted"
            )
        return None

    # ---- inclusion proofs --------------------------------------------------------------

    def prove(self, position: int) -> InclusionProof:
        """The audit path of the event at ``position`` under the latest checkpoint whose
        signature verifies, checked against the row's bytes as stored now."""
        self._catch_up()
        return self.prove_under(position, self.latest_valid_checkpoint())

    def latest_valid_checkpoint(self) -> SignedCheckpoint:
        """The latest checkpoint whose signature verifies under the store's keys (and the
        trusted key, if pinned), read from the end of the store."""
        found = latest_valid_checkpoint(self.ledger, self.keyring(), self.trusted_key)
        if found is None:
            raise NotFound("signed checkpoint", "(none yet: run okrgov checkpoint)")
        return found

    def prove_under(self, position: int, checkpoint: SignedCheckpoint) -> InclusionProof:
        """The audit path of the event at ``position`` under ``checkpoint`` (already judged
        by the caller), from O(log n) stored subtrees, checked against the row now."""
        recorded = self.leaf_log.leaf_at(position)
        if recorded is None:
            raise NotFound("event at position", position)
        if position > checkpoint.last_position:
            raise NotFound(
                "checkpoint covering position",
                f"{position} (the latest ends at {checkpoint.last_position})",
            )
        self.leaf_log.tree.complete_tree()  # once per store: see projections.leaf_tree
        index, path = self.leaf_log.read_tree(
            lambda tree: _path(tree, position, checkpoint.tree_size)
        )
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

    def prove_consistency(self, old_size: int, size: int | None = None) -> ConsistencyProof:
        """RFC 9162 consistency proof that the tree of ``old_size`` leaves is a prefix of
        the tree of ``size`` leaves (default: the latest checkpoint whose signature
        verifies), read from the stored tree and checked against both roots."""
        self._catch_up()
        if size is None:
            size = self.latest_valid_checkpoint().tree_size
        head = self.leaf_log.head()
        if not 0 < old_size <= size <= head.size:
            raise NotFound("tree sizes", f"{old_size} to {size} (the leaf log has {head.size})")
        self.leaf_log.tree.complete_tree()
        old_root, new_root, path = self.leaf_log.read_tree(
            lambda tree: (
                range_root(0, old_size, tree.node),
                range_root(0, size, tree.node),
                consistency_path(old_size, size, tree.node),
            )
        )
        return ConsistencyProof(
            old_size=old_size,
            tree_size=size,
            old_root_hash=old_root.hex(),
            root_hash=new_root.hex(),
            path=[p.hex() for p in path],
            consistent=verify_consistency(old_size, size, old_root, new_root, path),
        )


def _path(tree: TreeReader, position: int, size: int) -> tuple[int, list[bytes]]:
    index = tree.index_of(position)
    if index is None:
        raise NotFound("event at position", position)
    return index, inclusion_path(index, size, tree.node)


@dataclass
class _Check:
    """One verification pass: rows and leaf log merged by position, two Merkle frontiers
    (over the rows' leaves and over the logged leaves) compared with each checkpoint."""

    integrity: Integrity
    checkpoints: list[SignedCheckpoint]
    log_tip: int
    progress: Callable[[int], None] | None = None
    rows_tree: Frontier = field(default_factory=Frontier)
    log_tree: Frontier = field(default_factory=Frontier)
    shared: bool = True
    """The two trees are still one (every position matched so far): extended once."""
    suspect: Discrepancy | None = None
    found: Discrepancy | None = None
    last_good: int = 0
    last_checked: int = 0
    checked: int = 0
    verified: int = 0
    vouched_up_to: int = 0

    def run(self, events: StoredEvents, leaf_log: LeafLogView) -> IntegrityReport:
        """Rows and recorded leaves a page of positions at a time, each page merged by
        position; then any recorded leaves after the last row (rows gone)."""
        self.log_tree = self.rows_tree
        pending = deque(
            sorted(
                (c for c in self.checkpoints if c.signature_valid), key=lambda c: c.last_position
            )
        )
        after = 0
        while self.found is None:
            with collector_paused():
                rows, logged_positions, logged = leaf_log.rows_and_leaves(events, after, _PAGE)
                if not rows:
                    break
                last = rows[-1].position
                if not self._matched_page(rows, logged_positions, logged, pending):
                    self._merged_page(rows, leaf_log.leaves_between(after, last), pending)
                del rows, logged_positions, logged
            after = last
            if self.progress is not None:
                self.progress(last)
        if self.found is None:
            for recorded in leaf_log.leaves(after):
                self._step(recorded.position, None, recorded, pending)
                if self.found is not None:
                    break
        while pending and self.found is None:
            self._settle(pending.popleft())
        problem = self.found or self.suspect
        valid = [c for c in self.checkpoints if c.signature_valid]
        if problem is not None:
            up_to = min(self.last_good, problem.position - 1)
        else:
            up_to = self.last_checked
        return IntegrityReport(
            rows_intact=problem is None,
            checked_up_to=up_to,
            events_checked=self.checked,
            checkpoints_verified=self.verified,
            latest_checkpoint=valid[-1] if valid else None,
            problem=problem,
            checkpoints=tuple(self.checkpoints),
        )

    def _matched_page(
        self,
        rows: list[StoredRow],
        logged_positions: list[int],
        logged: list[bytes],
        pending: deque[SignedCheckpoint],
    ) -> bool:
        """While every position so far matched, a page whose rows all match their recorded
        leaves extends the one tree in runs between checkpoints: the same steps as
        position by position, without their per-position cost. False: not such a page."""
        if not self.shared:
            return False
        positions = [row.position for row in rows]
        if positions != logged_positions:
            return False
        hashes = [leaf_hash(row.leaf()) for row in rows]
        if hashes != logged:
            return False
        self._extend(positions, hashes, pending)
        return True

    def _merged_page(
        self, rows: list[StoredRow], leaves: list[LeafRecord], pending: deque[SignedCheckpoint]
    ) -> None:
        """A page compared position by position, rows and leaf records merged."""
        for position, row, recorded in _merge(iter(rows), iter(leaves)):
            self._step(position, row, recorded, pending)
            if self.found is not None:
                return

    def _extend(
        self, positions: list[int], hashes: list[bytes], pending: deque[SignedCheckpoint]
    ) -> None:
        start, end = 0, len(positions)
        while start < end:
            while pending and pending[0].last_position < positions[start] and self.found is None:
                self._settle(pending.popleft())
            if self.found is not None:
                return
            stop = bisect_right(positions, pending[0].last_position, start) if pending else end
            self.rows_tree.extend(hashes[start:stop])
            self.checked += stop - start
            self.last_checked = self.last_good = positions[stop - 1]
            start = stop

    def _step(
        self,
        position: int,
        row: StoredRow | None,
        recorded: LeafRecord | None,
        pending: deque[SignedCheckpoint],
    ) -> None:
        while pending and pending[0].last_position < position and self.found is None:
            self._settle(pending.popleft())
        if self.found is None:
            self._compare(position, row, recorded)

    def _compare(self, position: int, row: StoredRow | None, recorded: LeafRecord | None) -> None:
        """Add one position to both trees; the first mismatch becomes the suspect (only it
        is classified: later ones only feed the trees until a checkpoint settles it)."""
        if row is not None and recorded is None and position > self.log_tip:
            return  # recorded after the leaf log's last pass: nothing to check it against
        leaf = leaf_hash(row.leaf()) if row is not None else None
        if self.shared and self._matched(position, leaf, recorded):
            return
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
            self.suspect = Discrepancy(
                position,
                "inserted",
                f"a row appeared at position {position}, which held no event when the leaf "
                "log passed it",
            )
        if self.suspect is None:
            self.last_good = position

    def _matched(self, position: int, leaf: bytes | None, recorded: LeafRecord | None) -> bool:
        """While every position has matched, rows and leaf log are one tree, extended
        once; at the first mismatch the leaf log's tree is forked from it."""
        if recorded is not None and leaf == recorded.leaf:
            self.rows_tree.append(recorded.leaf)
            self.checked += 1
            self.last_checked = self.last_good = position
            return True
        self.log_tree = Frontier(self.rows_tree.size, self.rows_tree.peaks)
        self.shared = False
        return False

    def _changed(self, row: StoredRow, recorded: LeafRecord) -> Discrepancy:
        p, ident, version = row.position, row.originator_id, row.originator_version
        moved = (ident, version) != (recorded.originator_id, recorded.originator_version)
        if moved and ident is not None and version is not None:
            home = self.integrity.leaf_log.leaf_of(ident, version)
            if home is not None and leaf_hash(row._replace(position=home.position).leaf()) == (
                home.leaf
            ):
                return Discrepancy(
                    p,
                    "reordered",
                    f"position {p} holds the event recorded at position {home.position} "
                    f"({_event(home)}): rows were moved",
                )
        return Discrepancy(
            p,
            "changed",
            f"the row at position {p} ({_event(recorded)}) no longer matches the leaf "
            "recorded when it was first seen: its stored bytes were changed",
        )

    def _missing(self, recorded: LeafRecord) -> Discrepancy:
        p = recorded.position
        if recorded.originator_id is not None and recorded.originator_version is not None:
            events = self.integrity.events
            now_at = events.position_of(recorded.originator_id, recorded.originator_version)
            moved = events.at(now_at) if now_at is not None else None
            if moved is not None and leaf_hash(moved._replace(position=p).leaf()) == (
                recorded.leaf
            ):
                return Discrepancy(
                    p,
                    "reordered",
                    f"the event recorded at position {p} ({_event(recorded)}) is now stored "
                    f"at position {now_at}: rows were moved",
                )
        return Discrepancy(
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
                self.found = Discrepancy(
                    s.position,
                    "leaf_log_altered",
                    f"the leaf log was edited at position {s.position}: the rows still match "
                    f"{where} (tree size {checkpoint.tree_size}), the leaf log does not",
                )
            else:
                self.found = Discrepancy(s.position, s.reason, f"{s.message}; {where} confirms it")
            return
        first = self.vouched_up_to + 1
        self.found = Discrepancy(
            first,
            "checkpoint_mismatch",
            f"positions {first} to {checkpoint.last_position} and their recorded leaves agree "
            f"with each other but not with the root signed in {where} (tree size "
            f"{checkpoint.tree_size}): a row and its leaf were both rewritten in that range",
        )
        self.last_good = min(self.last_good, self.vouched_up_to)


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
