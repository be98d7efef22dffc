"""The store's signing keys and the repudiation of a checkpoint, as the domain rules them:
which checkpoint a recorded key signs, and four eyes on disowning a rogue checkpoint."""

from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from events.checkpoint import Checkpoint, CheckpointVerifies, RepudiationState, signed_message
from events.errors import InvalidTransition, InvalidValue, ReasonRequired, SelfApproval
from events.provenance import Stamp
from events.signing_keys import KEYRING_ID, SigningKey, SigningKeys
from infra.signing import Signer, fingerprint, parse_public_key
from services.application.evidence.checkpoints import VALID, Repudiation, SignedCheckpoint, judged
from services.application.evidence.keyring import Keyring

SAM, PRIYA = Stamp("sam", "c-1"), Stamp("priya", "c-2")


def signer() -> Signer:
    return Signer(Ed25519PrivateKey.generate())


def keyring_of(key: Signer) -> Keyring:
    genesis = SigningKeys.genesis(key.fingerprint, key.public_key_b64, SAM, "first start")
    return Keyring(tuple(genesis.keys))


def checkpoint(key: Signer, *, key_id: str | None = None) -> Checkpoint:
    message = signed_message(3, 7, "ab" * 32, "2026-12-01T00:00:00+00:00")
    return Checkpoint.sign(
        tree_size=3,
        last_position=7,
        root_hash="ab" * 32,
        signed_at="2026-12-01T00:00:00+00:00",
        key_id=key_id or key.key_id,
        public_key=key.public_key_b64,
        signature=key.sign(message).hex(),
        stamp=Stamp("okrgov", "c-0"),
        reason="test",
    )


def test_the_genesis_key_is_the_keyring_of_fixed_id_valid_from_the_beginning() -> None:
    key = signer()
    keyring = SigningKeys.genesis(key.fingerprint, key.public_key_b64, SAM, "first start")
    assert keyring.id == KEYRING_ID
    genesis = keyring.genesis_key
    assert (genesis.fingerprint, genesis.valid_after, genesis.valid_until) == (
        key.fingerprint,
        0,
        None,
    )
    assert genesis.fingerprint == fingerprint(parse_public_key(genesis.public_key))
    assert genesis.key_id == key.key_id == key.fingerprint[:16]
    assert (genesis.introduced_by, genesis.reason) == ("sam", "first start")
    with pytest.raises(InvalidValue, match="64 hex digits"):
        SigningKeys.genesis(key.key_id, key.public_key_b64, SAM, "a short name is no fingerprint")


def test_a_recorded_key_signs_between_its_positions_and_is_named_by_its_key_id() -> None:
    key = SigningKey("ab" * 32, "", valid_after=10, valid_until=20, introduced_by="x", reason=None)
    assert [key.signs_at(p) for p in (10, 11, 20, 21)] == [False, True, True, False]
    assert key.names("ab" * 8) and key.names("ab" * 32)
    assert not key.names("ab" * 7)  # too short to name a key
    assert not key.names("cd" * 8)


def test_a_checkpoint_is_judged_by_the_recorded_key_it_names() -> None:
    store, stranger = signer(), signer()
    keyring = keyring_of(store)
    [own] = checkpoint(store).collect_events()
    assert judged(5, own, keyring).status == VALID

    foreign = judged(5, checkpoint(stranger).collect_events()[0], keyring)
    assert foreign.status == "unknown_key"
    assert foreign.fingerprint == stranger.fingerprint
    assert store.fingerprint in foreign.message and "a key of its own" in foreign.message

    # Naming the store's key does not help a signature made with another.
    posing = checkpoint(stranger, key_id=store.key_id)
    assert judged(5, posing.collect_events()[0], keyring).status == "bad_signature"

    # An auditor who trusts another key trusts none of the store's checkpoints.
    pinned = judged(5, own, keyring, trusted_key=stranger.fingerprint)
    assert pinned.status == "untrusted_key"

    # A store that records no key yet verifies nothing.
    assert judged(5, own, Keyring()).status == "unknown_key"


def rogue() -> Checkpoint:
    return checkpoint(signer())


def test_repudiation_is_asked_with_a_reason_and_decided_by_someone_else() -> None:
    cp = rogue()
    with pytest.raises(ReasonRequired):
        cp.request_repudiation(SAM, "  ", verifies=False)
    with pytest.raises(InvalidTransition, match="no repudiation"):
        cp.approve_repudiation(PRIYA)
    cp.request_repudiation(
        SAM, "signed by a process started without the shared key", verifies=False
    )
    with pytest.raises(InvalidTransition, match="awaiting approval"):
        cp.request_repudiation(PRIYA, "again", verifies=False)
    with pytest.raises(SelfApproval) as refused:
        cp.approve_repudiation(SAM)
    assert refused.value.rule == "four_eyes"
    cp.approve_repudiation(PRIYA, "checked the process logs")
    assert cp.repudiation == RepudiationState.REPUDIATED
    assert (cp.repudiation_requested_by, cp.repudiation_decided_by) == ("sam", "priya")
    with pytest.raises(InvalidTransition, match="already repudiated"):
        cp.request_repudiation(PRIYA, "again", verifies=False)


def test_a_rejected_repudiation_may_be_asked_again_and_a_valid_checkpoint_never() -> None:
    cp = rogue()
    cp.request_repudiation(SAM, "looks foreign", verifies=False)
    with pytest.raises(SelfApproval):
        cp.reject_repudiation(SAM)
    cp.reject_repudiation(PRIYA, "not enough evidence yet")
    assert cp.repudiation == RepudiationState.REJECTED
    cp.request_repudiation(PRIYA, "now with the process logs", verifies=False)
    assert cp.repudiation == RepudiationState.REQUESTED
    with pytest.raises(CheckpointVerifies) as refused:
        rogue().request_repudiation(SAM, "it is ours, but still", verifies=True)
    assert refused.value.rule == "checkpoint_verifies"


def test_a_recorded_repudiation_clears_no_checkpoint_signed_by_an_untrusted_store_key() -> None:
    approved = Repudiation("repudiated", "sam", "not ours", "priya", None)
    unknown = SignedCheckpoint(9, 3, 7, "ab", "t", "k", "unknown_key", repudiation=approved)
    assert unknown.repudiated and not unknown.rogue
    # Repudiations are not signed: under a pinned key they cannot vouch for a checkpoint
    # signed by a key the store records but the auditor does not trust, nor disown a
    # valid one.
    untrusted = replace(unknown, status="untrusted_key")
    assert untrusted.rogue and not untrusted.repudiated
    valid = replace(unknown, status=VALID)
    assert not valid.rogue and not valid.repudiated
