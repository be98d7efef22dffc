"""The latest valid checkpoint read from the end of the store is the last valid one of the
full judged list, on both backends: with checkpoints after it that do not verify (an
unsigned one, one with an altered signature) and with a trusted key pinned that is not
the store's."""

from quarter import TOM, plan_quarter

from events.checkpoint import Checkpoint
from events.provenance import Stamp
from services.application.evidence.latest import latest_valid_checkpoint
from services.bootstrap import Platform


def test_the_latest_valid_checkpoint_is_the_last_valid_one_of_the_full_list(
    platform: Platform,
) -> None:
    integrity = platform.evidence.signing()
    _, _, key_result = plan_quarter(platform)
    signed = []
    for week in range(3):
        platform.ledger.check_in(TOM, key_result.id, 14 - week, 0.6, f"week {week}")
        integrity.follower.catch_up()
        checkpoint = integrity.record_checkpoint("test")
        assert checkpoint is not None
        signed.append(checkpoint)
    head = integrity.leaf_log.head()
    for signature in ("", "00" * 64):  # unsigned, then a signature that does not verify
        platform.ledger.record(
            Checkpoint.sign(
                tree_size=head.size,
                last_position=head.last_position,
                root_hash=head.root.hex(),
                signed_at=signed[-1].signed_at,
                key_id=signed[-1].key_id,
                public_key="",
                signature=signature,
                stamp=Stamp("intruder", "c"),
                reason="forged",
            )
        )
    keyring = integrity.keyring()
    full = [c for c in integrity.checkpoints(keyring) if c.signature_valid]
    assert full[-1] == signed[-1]
    assert latest_valid_checkpoint(platform.ledger, keyring) == full[-1]
    assert integrity.latest_valid_checkpoint() == full[-1]
    other_key = "ab" * 32
    assert latest_valid_checkpoint(platform.ledger, keyring, other_key) is None
