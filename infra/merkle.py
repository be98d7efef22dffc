"""The Merkle Tree Hash of RFC 9162 §2.1 (the same tree as RFC 6962): SHA-256, leaves
hashed as ``SHA-256(0x00 || leaf)``, interior nodes as ``SHA-256(0x01 || left || right)``,
a list of n > 1 leaves split at k, the largest power of two smaller than n; the empty
tree hashes to ``SHA-256("")``. Inclusion proofs (audit paths) are built as §2.1.3.1
describes and verified with the algorithm of §2.1.3.2.

Everything here streams: ``Frontier`` keeps only the roots of the maximal perfect subtrees
of the leaves seen so far (at most log2(n) hashes), so a root over a million leaves, or an
audit path under it, is computed in one pass over the leaves in constant memory, and the
follower that logs leaves extends the tree in O(log n) per event.

Why not the ``pymerkle`` package (7.0.0)? Its trees compute the same RFC 9162 root (checked
against this module for every size from 0 to 300), but a pymerkle tree owns its leaf
storage: a backend must serve ``_get_leaves(offset, width)`` by random access and roots are
recomputed from the leaves (with an in-process cache) rather than folded from a stream or
kept as a frontier; its proofs have their own format rather than the RFC's audit path;
it pins ``cachetools==7.2.1``; and it is GPL-3.0-or-later. What we need is ~60 lines.
"""

import hashlib
from collections.abc import Callable, Iterable, Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()
_BLOCK = 64
_sha256 = hashlib.sha256


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


class Frontier:
    """The roots of the maximal perfect subtrees of the leaves appended so far, largest
    first: enough to append a leaf and to compute the tree's root, nothing more."""

    def __init__(self, size: int = 0, peaks: Sequence[bytes] = ()) -> None:
        if len(peaks) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} peaks")
        self.size = size
        self.peaks = list(peaks)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash; merge equal-sized subtrees as a binary counter carries."""
        self.peaks.append(leaf)
        self.size += 1
        carries = self.size
        while carries & 1 == 0:
            right = self.peaks.pop()
            self.peaks[-1] = node_hash(self.peaks[-1], right)
            carries >>= 1

    def extend(self, leaves: Sequence[bytes]) -> None:
        """``append`` each leaf hash in turn: whole aligned blocks of ``_BLOCK`` leaves are
        hashed level by level (one comprehension per level instead of a loop step per
        node), the rest one by one; the same peaks as appending leaf by leaf."""
        start, end = 0, len(leaves)
        while start < end:
            if self.size % _BLOCK == 0 and end - start >= _BLOCK:
                level = leaves[start : start + _BLOCK]
                while len(level) > 1:
                    level = [
                        _sha256(NODE_PREFIX + left + right).digest()
                        for left, right in zip(level[::2], level[1::2], strict=True)
                    ]
                self._push(level[0], _BLOCK)
                start += _BLOCK
            else:
                self.append(leaves[start])
                start += 1

    def _push(self, root: bytes, width: int) -> None:
        """Add the root of a complete subtree of ``width`` leaves (a power of two that
        divides the size)."""
        peaks = self.peaks
        peaks.append(root)
        self.size += width
        carries = self.size // width
        while carries & 1 == 0:
            right = peaks.pop()
            peaks[-1] = _sha256(NODE_PREFIX + peaks[-1] + right).digest()
            carries >>= 1

    def append_nodes(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """``append``, returning the complete subtrees it completed: ``(level, index,
        hash)`` for the subtree of leaves ``[index << level, (index + 1) << level)``."""
        self.peaks.append(leaf)
        self.size += 1
        made: list[tuple[int, int, bytes]] = []
        carries, level = self.size, 0
        while carries & 1 == 0:
            right = self.peaks.pop()
            self.peaks[-1] = node_hash(self.peaks[-1], right)
            carries >>= 1
            level += 1
            made.append((level, (self.size >> level) - 1, self.peaks[-1]))
        return made

    def root(self) -> bytes:
        """MTH of the leaves so far: the peaks folded from the right (RFC 9162 split)."""
        if not self.peaks:
            return EMPTY_ROOT
        root = self.peaks[-1]
        for peak in reversed(self.peaks[:-1]):
            root = node_hash(peak, root)
        return root


def root(leaves: Iterable[bytes]) -> bytes:
    """MTH of a stream of leaf hashes."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def path_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges ``[start, end)`` whose roots make up the audit path of leaf
    ``index`` in a tree of ``size`` leaves, in the RFC's order (the leaf's sibling first)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def audit_path(index: int, size: int, leaves: Iterable[bytes]) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, from one pass over the leaf hashes."""
    wanted = path_ranges(index, size)
    by_start = sorted(range(len(wanted)), key=lambda i: wanted[i][0])
    roots: list[bytes] = [b""] * len(wanted)
    current = iter(by_start)
    slot = next(current, None)
    frontier = Frontier()
    for position, leaf in enumerate(leaves):
        if slot is None or position >= size:
            break
        start, end = wanted[slot]
        if start <= position < end:
            frontier.append(leaf)
            if position == end - 1:
                roots[slot], frontier = frontier.root(), Frontier()
                slot = next(current, None)
    if slot is not None:
        raise ValueError(f"fewer than {size} leaves")
    return roots


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``path`` prove leaf hash ``leaf`` at ``index`` under
    ``expected_root`` of a tree of ``size`` leaves?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


# ---- proofs from stored subtrees --------------------------------------------------------

Node = Callable[[int, int], bytes]
"""The hash of a complete subtree, by ``(level, index)``: the root of leaves
``[index << level, (index + 1) << level)`` (level 0: the leaf hash itself)."""


def range_nodes(start: int, end: int) -> list[tuple[int, int]]:
    """The complete subtrees ``(level, index)`` that make up the leaves ``[start, end)``,
    largest first. Every range of the RFC's recursion starts at a multiple of a power of
    two at least its length, so these are aligned subtrees of the tree."""
    nodes, n = [], end - start
    for level in range(n.bit_length() - 1, -1, -1):
        if n >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def range_root(start: int, end: int, node: Node) -> bytes:
    """MTH of the leaves ``[start, end)`` from at most log2(n) stored subtrees."""
    peaks = [node(level, index) for level, index in range_nodes(start, end)]
    root = peaks[-1]
    for peak in reversed(peaks[:-1]):
        root = node_hash(peak, root)
    return root


def inclusion_path(index: int, size: int, node: Node) -> list[bytes]:
    """PATH(index, D[size]) read from stored subtrees: the same hashes as ``audit_path``
    in O(log^2 n) node reads at most (O(log n) when the tree is complete)."""
    return [range_root(start, end, node) for start, end in path_ranges(index, size)]


def consistency_ranges(old_size: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose roots make up PROOF(m, D[n]) of RFC 9162 §2.1.4.1, in the
    RFC's order, for 0 < m <= n."""
    if not 0 < old_size <= size:
        raise ValueError(f"no consistency proof from {old_size} to {size} leaves")
    ranges: list[tuple[int, int]] = []
    start, end, m, complete = 0, size, old_size, True
    while m != end - start:
        k = _largest_power_of_two_below(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        ranges.append((start, end))
    return ranges[::-1]


def consistency_path(old_size: int, size: int, node: Node) -> list[bytes]:
    """PROOF(old_size, D[size]) of RFC 9162 §2.1.4.1, read from stored subtrees."""
    return [range_root(start, end, node) for start, end in consistency_ranges(old_size, size)]


def verify_consistency(
    old_size: int, size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does ``proof`` show the tree of ``old_size`` leaves with root
    ``old_root`` is a prefix of the tree of ``size`` leaves with root ``new_root``?"""
    if not 0 < old_size <= size:
        return False
    if old_size == size:
        return not proof and old_root == new_root
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
