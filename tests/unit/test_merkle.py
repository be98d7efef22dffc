"""The Merkle tree hash and inclusion proofs against RFC 6962/9162's reference vectors
(the Certificate Transparency test data) and against a naive transcription of the RFC."""

import hashlib

import pytest

from infra import merkle
from infra.stored_events import StoredRow

# The Certificate Transparency reference inputs and the tree heads of their prefixes.
CT_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PATHS = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_LEAVES = [merkle.leaf_hash(data) for data in CT_INPUTS]


def rfc_mth(leaves: list[bytes]) -> bytes:
    """MTH exactly as RFC 9162 §2.1.1 writes it, recursively."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return merkle.node_hash(rfc_mth(leaves[:k]), rfc_mth(leaves[k:]))


def rfc_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) exactly as RFC 9162 §2.1.3.1 writes it."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*rfc_path(m, leaves[:k]), rfc_mth(leaves[k:])]
    return [*rfc_path(m - k, leaves[k:]), rfc_mth(leaves[:k])]


def test_leaf_and_node_hashes_carry_the_domain_separation_prefixes() -> None:
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert merkle.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


@pytest.mark.parametrize("size", range(len(CT_ROOTS)))
def test_the_root_of_every_prefix_is_the_reference_tree_head(size: int) -> None:
    assert merkle.root(CT_LEAVES[:size]).hex() == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size"), sorted(CT_PATHS))
def test_audit_paths_are_the_reference_paths_and_verify(index: int, size: int) -> None:
    path = merkle.audit_path(index, size, CT_LEAVES)
    assert [p.hex() for p in path] == CT_PATHS[(index, size)]
    root = bytes.fromhex(CT_ROOTS[size])
    assert merkle.verify_inclusion(CT_LEAVES[index], index, size, path, root)


def test_roots_and_paths_match_the_rfc_recursion_for_every_shape() -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(70)]
    frontier = merkle.Frontier()
    for n in range(1, len(leaves) + 1):
        frontier.append(leaves[n - 1])
        expected = rfc_mth(leaves[:n])
        assert frontier.size == n
        assert frontier.root() == expected
        for m in range(n):
            path = merkle.audit_path(m, n, iter(leaves))
            assert path == rfc_path(m, leaves[:n])
            assert merkle.verify_inclusion(leaves[m], m, n, path, expected)


def test_a_frontier_restored_from_its_peaks_carries_on_identically() -> None:
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(23)]
    whole = merkle.Frontier()
    for leaf in leaves[:13]:
        whole.append(leaf)
    restored = merkle.Frontier(whole.size, list(whole.peaks))
    for leaf in leaves[13:]:
        whole.append(leaf)
        restored.append(leaf)
    assert restored.root() == whole.root() == rfc_mth(leaves)
    with pytest.raises(ValueError, match="peaks"):
        merkle.Frontier(13, whole.peaks[:1])


def test_a_proof_fails_for_a_tampered_leaf_path_index_or_root() -> None:
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(11)]
    root = merkle.root(leaves)
    path = merkle.audit_path(6, 11, leaves)
    assert merkle.verify_inclusion(leaves[6], 6, 11, path, root)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), 6, 11, path, root)
    assert not merkle.verify_inclusion(leaves[6], 7, 11, path, root)
    assert not merkle.verify_inclusion(leaves[6], 6, 11, path[:-1], root)
    assert not merkle.verify_inclusion(leaves[6], 6, 11, [*path, path[0]], root)
    assert not merkle.verify_inclusion(leaves[6], 6, 11, path, merkle.EMPTY_ROOT)
    assert not merkle.verify_inclusion(leaves[6], 11, 11, path, root)
    bent = [path[0], bytes(32), *path[2:]]
    assert not merkle.verify_inclusion(leaves[6], 6, 11, bent, root)


def test_an_audit_path_needs_the_leaf_in_the_tree_and_enough_leaves() -> None:
    with pytest.raises(ValueError):
        merkle.audit_path(3, 3, CT_LEAVES)
    with pytest.raises(ValueError, match="fewer"):
        merkle.audit_path(0, 9, CT_LEAVES)


def test_the_leaf_bytes_of_a_stored_row_are_length_prefixed_and_bind_the_position() -> None:
    row = StoredRow(7, "ab" * 16, 2, "events.cycle:Cycle.Locked", b'{"x":1}')
    assert row.leaf() == (
        b"okrgov-event-leaf/1"
        + (7).to_bytes(8, "big")
        + (32).to_bytes(4, "big")
        + b"ab" * 16
        + (2).to_bytes(8, "big")
        + (25).to_bytes(4, "big")
        + b"events.cycle:Cycle.Locked"
        + (7).to_bytes(4, "big")
        + b'{"x":1}'
    )
    moved = row._replace(position=8)
    assert moved.leaf() != row.leaf()
    # Bytes cannot slide from one field into the next, and NULL is not the empty value.
    shifted = row._replace(topic="events.cycle:Cycle.Locked{", state=b'"x":1}')
    assert shifted.leaf() != row.leaf()
    assert row._replace(state=None).leaf() != row._replace(state=b"").leaf()
