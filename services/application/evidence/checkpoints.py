"""The checkpoints recorded in a store, each judged against the public key the store
records for it (``services.application.evidence.keyring``), never against a key this
process holds; with their repudiations (four eyes, ``events.checkpoint``).

A checkpoint's status:

* ``valid``: its signature verifies under the recorded key it names, which signs at its
  position (and, when an auditor pins one, is the trusted key);
* ``unsigned``: it carries no signature;
* ``bad_signature``: it names a recorded key but its signature does not verify under it;
* ``unknown_key``: it names a key the store does not record (or not at its position):
  typically a process that signed with a key of its own;
* ``untrusted_key``: signed by a recorded key that is not the key an auditor trusts;
* ``unreadable``: its row does not decode.

One that is not valid is *rogue* until it is repudiated (an approved repudiation)."""

import binascii
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import structlog
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from events.checkpoint import Checkpoint, RepudiationState, signed_message
from infra.keyset import keyset_pages
from infra.signing import fingerprint, parse_public_key, verify_signature
from services.application.evidence.keyring import Keyring
from services.application.ledger_base import LedgerBase

log = structlog.get_logger(__name__)

VALID = "valid"
UNSIGNED = "unsigned"
BAD_SIGNATURE = "bad_signature"
UNKNOWN_KEY = "unknown_key"
UNTRUSTED_KEY = "untrusted_key"
UNREADABLE = "unreadable"

CHECKPOINT_TOPIC = get_topic(Checkpoint.Signed)
_REPUDIATION_TOPICS = {
    get_topic(Checkpoint.RepudiationRequested): RepudiationState.REQUESTED,
    get_topic(Checkpoint.Repudiated): RepudiationState.REPUDIATED,
    get_topic(Checkpoint.RepudiationRejected): RepudiationState.REJECTED,
}
_REPUDIATION_EVENTS = (
    Checkpoint.RepudiationRequested,
    Checkpoint.Repudiated,
    Checkpoint.RepudiationRejected,
)
_PAGE = 500


@dataclass(frozen=True)
class Repudiation:
    """Where the repudiation of a checkpoint stands, who asked and who decided, and why."""

    state: str
    """``requested``, ``repudiated`` or ``rejected``."""
    requested_by: str
    request_reason: str | None
    decided_by: str | None = None
    decision_reason: str | None = None


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint as recorded, and whether it verifies under the store's keys."""

    position: int
    tree_size: int
    last_position: int
    root_hash: str
    signed_at: str
    key_id: str
    status: str
    """``valid``, ``unsigned``, ``bad_signature``, ``unknown_key``, ``untrusted_key`` or
    ``unreadable`` (see the module's docstring)."""
    fingerprint: str = ""
    """The fingerprint of the public key the checkpoint carries ("" if it carries none)."""
    checkpoint_id: str = ""
    message: str = ""
    """Why it does not verify ("" when it does)."""
    repudiation: Repudiation | None = None

    @property
    def signature_valid(self) -> bool:
        return self.status == VALID

    @property
    def repudiated(self) -> bool:
        """Not valid, and disowned by an approved repudiation. A repudiation never takes
        a valid checkpoint out of verification, nor clears one signed by a recorded key an
        auditor does not trust (``untrusted_key``): what is recorded cannot vouch for it."""
        return (
            self.status not in (VALID, UNTRUSTED_KEY)
            and self.repudiation is not None
            and self.repudiation.state == RepudiationState.REPUDIATED
        )

    @property
    def rogue(self) -> bool:
        """Does not verify, and nobody has repudiated it: verification fails on it."""
        return not self.signature_valid and not self.repudiated

    def describe(self) -> str:
        """One line for a person: where, what, why, and any repudiation."""
        text = f"checkpoint at position {self.position}: {self.status}"
        if self.message:
            text += f": {self.message}"
        r = self.repudiation
        if r is not None and r.state == RepudiationState.REPUDIATED:
            why = f" ({r.decision_reason})" if r.decision_reason else ""
            text += (
                f"; repudiated: requested by {r.requested_by} ({r.request_reason}), "
                f"approved by {r.decided_by}{why}"
            )
        elif r is not None and r.state == RepudiationState.REQUESTED:
            text += f"; repudiation requested by {r.requested_by}, awaiting approval"
        return text


def recorded_checkpoints(
    ledger: LedgerBase, keyring: Keyring, trusted_key: str | None = None
) -> list[SignedCheckpoint]:
    """Every checkpoint in the store, in position order, judged against ``keyring`` (and
    the ``trusted_key`` fingerprint when an auditor pins one), with its repudiation."""
    found: dict[Any, SignedCheckpoint] = {}
    repudiations: dict[Any, Repudiation] = {}
    for position, topic, originator_id, event in _events(ledger):
        if topic == CHECKPOINT_TOPIC:
            found[originator_id or position] = judged(position, event, keyring, trusted_key)
        elif isinstance(event, _REPUDIATION_EVENTS):
            repudiations[originator_id] = _next(repudiations.get(originator_id), topic, event)
    for ident, repudiation in repudiations.items():
        if ident in found:
            found[ident] = replace(found[ident], repudiation=repudiation)
    return sorted(found.values(), key=lambda c: c.position)


def _events(ledger: LedgerBase) -> Iterator[tuple[int, str, Any, Any]]:
    """(position, topic, aggregate id, decoded event or the exception decoding raised)."""
    topics = [CHECKPOINT_TOPIC, *_REPUDIATION_TOPICS]

    def read(after: int, limit: int) -> Sequence[Notification]:
        return ledger.recorder.select_notifications(
            start=after, limit=limit, topics=topics, inclusive_of_start=False
        )

    for notification in keyset_pages(read, lambda n: n.id, page_size=_PAGE):
        try:
            event: Any = ledger.mapper.to_domain_event(notification)
        except Exception as exc:  # a rewritten row may not even decode
            event = exc
        yield notification.id, notification.topic, notification.originator_id, event


def _next(before: Repudiation | None, topic: str, event: Any) -> Repudiation:
    state = _REPUDIATION_TOPICS[topic]
    if state == RepudiationState.REQUESTED or before is None:
        return Repudiation(state, event.actor, event.reason)
    return replace(before, state=state, decided_by=event.actor, decision_reason=event.reason)


def judged(
    position: int, event: Any, keyring: Keyring, trusted_key: str | None = None
) -> SignedCheckpoint:
    """A recorded checkpoint event checked against the store's recorded keys."""
    if not isinstance(event, Checkpoint.Signed):
        return SignedCheckpoint(
            position, 0, 0, "", "", "", UNREADABLE, message=f"its row cannot be read ({event})"
        )
    carried = _carried_key(event.public_key)
    status, message = _status(position, event, carried, keyring, trusted_key)
    return SignedCheckpoint(
        position,
        event.tree_size,
        event.last_position,
        event.root_hash,
        event.signed_at,
        event.key_id,
        status,
        fingerprint(carried) if carried else "",
        str(event.originator_id),
        message,
    )


def _status(
    position: int,
    event: Checkpoint.Signed,
    carried: bytes | None,
    keyring: Keyring,
    trusted_key: str | None,
) -> tuple[str, str]:
    message = signed_message(event.tree_size, event.last_position, event.root_hash, event.signed_at)
    try:
        signature = bytes.fromhex(event.signature)
    except ValueError:
        signature = b"?"
    if not signature:
        return UNSIGNED, "it carries no signature"
    key = keyring.signing_at(event.key_id, position)
    if key is None:
        return UNKNOWN_KEY, _unknown(position, event, carried, signature, message, keyring)
    if not verify_signature(parse_public_key(key.public_key), message, signature):
        return BAD_SIGNATURE, (
            f"its signature does not verify under the store's key {key.fingerprint}, which it names"
        )
    if trusted_key is not None and key.fingerprint != trusted_key:
        return UNTRUSTED_KEY, (
            f"signed by the store's recorded key {key.fingerprint}, not by the trusted key "
            f"{trusted_key}"
        )
    return VALID, ""


def _unknown(
    position: int,
    event: Checkpoint.Signed,
    carried: bytes | None,
    signature: bytes,
    message: bytes,
    keyring: Keyring,
) -> str:
    named = keyring.named(event.key_id)
    if named is not None:
        return (
            f"it names the store's key {named.fingerprint}, which does not sign at position "
            f"{position} (it signs after position {named.valid_after})"
        )
    who = f"key {fingerprint(carried)}" if carried else f"key id {event.key_id}"
    text = f"signed by {who}, which this store does not know ({keyring.describe()})"
    if carried and verify_signature(carried, message, signature):
        text += ": the signature verifies under that key, so a process signed with a key of its own"
    return text


def _carried_key(encoded: str) -> bytes | None:
    try:
        return parse_public_key(encoded)
    except (ValueError, binascii.Error):
        return None
