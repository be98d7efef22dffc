"""The leaf log's stored tree (``projections.leaf_tree``) on both backends: inclusion and
consistency proofs read from stored subtrees are the proofs the whole-log computation
gives, for random tree sizes and leaves, over positions with gaps; and a leaf log written
before the tree was stored gets it by a resumable backfill that writes each node once."""

import random
from typing import Any

import pytest
from eventsourcing.persistence import Tracking
from quarter import TOM, plan_quarter

from events.errors import NotFound
from infra import merkle
from infra.stored_events import StoredRow
from projections.leaf_log import LeafLog, LeafLogView
from services.bootstrap import Platform

NAME = "tree_test"


def fresh_view(platform: Platform, name: str) -> LeafLogView:
    view: Any = type(platform.evidence.leaf_log.view)(platform.ledger.recorder.datastore, name)
    view.create_table()
    return view  # type: ignore[no-any-return]


def positions_with_gaps(rng: random.Random, count: int) -> list[int]:
    positions, position = [], 0
    for _ in range(count):
        position += 1 if rng.random() < 0.9 else rng.randint(2, 5)
        positions.append(position)
    return positions


def log_rows(view: LeafLogView, positions: list[int], batch: int) -> None:
    for start in range(0, len(positions), batch):
        rows = [
            StoredRow(p, f"{p:032x}", 1, "test.Topic", p.to_bytes(4, "big"))
            for p in positions[start : start + batch]
        ]
        after = view.position()
        assert view.record(
            Tracking(view.projection, rows[-1].position), rows, LeafLog().apply, after
        )


def leaves_of(view: LeafLogView) -> list[bytes]:
    return [r.leaf for r in view.leaves()]


def rfc_mth(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return merkle.node_hash(rfc_mth(leaves[:k]), rfc_mth(leaves[k:]))


def rfc_subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) exactly as RFC 9162 §2.1.4.1 writes it."""
    n = len(leaves)
    if m == n:
        return [] if complete else [rfc_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*rfc_subproof(m, leaves[:k], complete), rfc_mth(leaves[k:])]
    return [*rfc_subproof(m - k, leaves[k:], False), rfc_mth(leaves[:k])]


def stored_nodes(view: LeafLogView) -> list[tuple[int, int, bytes]]:
    with view.transaction(commit=False) as c:
        c.execute(view.sql("SELECT level, idx, hash FROM {nodes} ORDER BY level, idx"))
        return [(r["level"], r["idx"], bytes(r["hash"])) for r in c.fetchall()]


def forget_tree(view: LeafLogView) -> None:
    """As a store logged before the tree was stored: leaves and frontier, no tree."""
    with view.transaction(commit=True) as c:
        c.execute(view.sql("DELETE FROM {nodes}"))
        c.execute(view.sql("DELETE FROM {runs}"))


def test_proofs_from_the_stored_tree_are_the_whole_log_proofs(platform: Platform) -> None:
    rng = random.Random(6)
    view = fresh_view(platform, NAME)
    positions = positions_with_gaps(rng, 301)
    log_rows(view, positions, 47)
    leaves = leaves_of(view)
    assert len(leaves) == 301 and view.head().root == merkle.root(leaves)
    view.tree.complete_tree()
    sizes = [1, 2, 15, 16, 17, 32, 33, 255, 256, 257, 301, *rng.sample(range(1, 302), 12)]
    for size in sizes:
        for index in {0, size - 1, rng.randrange(size)}:
            old = merkle.audit_path(index, size, iter(leaves))
            new = view.read_tree(lambda t, i=index, n=size: merkle.inclusion_path(i, n, t.node))
            assert new == old, (index, size)
        for old_size in {1, size, rng.randint(1, size)}:
            proof = view.read_tree(
                lambda t, m=old_size, n=size: merkle.consistency_path(m, n, t.node)
            )
            assert proof == rfc_subproof(old_size, leaves[:size], True), (old_size, size)
            assert merkle.verify_consistency(
                old_size, size, rfc_mth(leaves[:old_size]), rfc_mth(leaves[:size]), proof
            )
    for index, position in enumerate(positions):
        assert view.index_of(position) == index
    assert view.index_of(positions[-1] + 1) is None
    gaps = sorted(set(range(1, positions[-1])) - set(positions))
    if gaps:
        assert view.index_of(gaps[0]) is None


def test_a_leaf_log_without_a_stored_tree_is_backfilled_once_and_resumably(
    platform: Platform,
) -> None:
    rng = random.Random(7)
    positions = positions_with_gaps(rng, 200)
    reference = fresh_view(platform, "tree_reference")
    log_rows(reference, positions, 50)
    expected = stored_nodes(reference)
    assert expected and min(level for level, _, _ in expected) == 4

    view = fresh_view(platform, NAME)
    log_rows(view, positions[:130], 50)
    forget_tree(view)  # logged by a version that stored no tree
    log_rows(view, positions[130:], 50)  # logged since: their own nodes and runs
    with pytest.raises(LookupError):
        view.read_tree(lambda t: merkle.inclusion_path(3, 200, t.node))

    tree = view.tree
    assert tree._backfill_batch(40) == 40  # stopped after one batch: resumes from its marker
    assert tree.complete_tree(batch_size=40) == 90
    assert tree.complete_tree() == 0  # done once: nothing again
    assert stored_nodes(view) == expected
    leaves = leaves_of(view)
    for index in (0, 17, 129, 130, 199):
        assert view.read_tree(
            lambda t, i=index: merkle.inclusion_path(i, 200, t.node)
        ) == merkle.audit_path(index, 200, iter(leaves))
    assert [view.index_of(p) for p in positions] == list(range(200))


def test_a_consistency_proof_links_two_signed_checkpoints(platform: Platform) -> None:
    integrity = platform.evidence.signing()
    _, _, key_result = plan_quarter(platform)
    integrity.follower.catch_up()
    first = integrity.record_checkpoint("test")
    for week in range(3):
        platform.ledger.check_in(TOM, key_result.id, 14 - week, 0.6, f"week {week}")
    integrity.follower.catch_up()
    second = integrity.record_checkpoint("test")
    assert first is not None and second is not None and first.tree_size < second.tree_size
    proof = integrity.prove_consistency(first.tree_size)
    assert proof.consistent and proof.tree_size == second.tree_size
    assert (proof.old_root_hash, proof.root_hash) == (first.root_hash, second.root_hash)
    inclusion = integrity.prove(integrity.leaf_log.head().last_position - 1)
    assert inclusion.included and inclusion.tree_size == second.tree_size
    with pytest.raises(NotFound):
        integrity.prove_consistency(second.tree_size + 1_000)
