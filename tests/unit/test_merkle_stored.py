"""Proofs from stored subtrees (``infra.merkle``): the subtrees a frontier completes, the
batch ``extend``, and RFC 9162 consistency proofs against a transcription of the RFC,
without a database."""

import hashlib

import pytest

from infra import merkle

LEAVES = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(130)]


def mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return merkle.node_hash(mth(leaves[:k]), mth(leaves[k:]))


def subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) exactly as RFC 9162 §2.1.4.1 writes it."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*subproof(m, leaves[:k], complete), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def node(level: int, index: int) -> bytes:
    return mth(LEAVES[index << level : (index + 1) << level])


def test_append_nodes_returns_every_completed_subtree_once() -> None:
    frontier, made = merkle.Frontier(), {}
    for leaf in LEAVES:
        for level, index, hashed in frontier.append_nodes(leaf):
            assert (level, index) not in made
            made[(level, index)] = hashed
    assert all(hashed == node(level, index) for (level, index), hashed in made.items())
    assert len(made) == len(LEAVES) - len(LEAVES).bit_count()
    assert frontier.root() == mth(LEAVES)


@pytest.mark.parametrize("split", [0, 1, 5, 64, 129])
def test_extend_is_append_leaf_by_leaf(split: int) -> None:
    one, batch = merkle.Frontier(), merkle.Frontier()
    for leaf in LEAVES:
        one.append(leaf)
    batch.extend(LEAVES[:split])
    batch.extend(LEAVES[split:])
    assert (batch.size, batch.peaks) == (one.size, one.peaks)


def test_consistency_proofs_are_the_rfcs_and_verify() -> None:
    for size in range(1, 70):
        for old in range(1, size + 1):
            proof = merkle.consistency_path(old, size, node)
            assert proof == subproof(old, LEAVES[:size], True), (old, size)
            old_root, new_root = mth(LEAVES[:old]), mth(LEAVES[:size])
            assert merkle.verify_consistency(old, size, old_root, new_root, proof)
            assert not merkle.verify_consistency(old, size, new_root, old_root, proof) or (
                old == size
            )
            if proof:
                bad = [*proof[:-1], bytes(32)]
                assert not merkle.verify_consistency(old, size, old_root, new_root, bad)


def test_inclusion_paths_from_subtrees_are_the_streamed_audit_paths() -> None:
    for size in range(1, 70):
        for index in range(size):
            assert merkle.inclusion_path(index, size, node) == merkle.audit_path(
                index, size, iter(LEAVES)
            )


def test_no_consistency_proof_from_an_empty_or_a_larger_tree() -> None:
    with pytest.raises(ValueError):
        merkle.consistency_ranges(0, 5)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(6, 5)
    assert not merkle.verify_consistency(6, 5, LEAVES[0], LEAVES[0], [])


@pytest.mark.parametrize("split", [0, 1, 63, 64, 65, 200, 511, 999])
def test_extend_in_blocks_is_append_leaf_by_leaf(split: int) -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(3, "big")) for i in range(1000)]
    one, batch = merkle.Frontier(), merkle.Frontier()
    for leaf in leaves:
        one.append(leaf)
    for chunk in (leaves[:split], leaves[split : split + 300], leaves[split + 300 :]):
        batch.extend(chunk)
    assert (batch.size, batch.peaks, batch.root()) == (one.size, one.peaks, one.root())
