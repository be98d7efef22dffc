"""The leaf log's stored tree: what makes an inclusion or consistency proof read O(log n)
rows instead of rehashing the log.

Two tables beside the leaves, written in the same transaction as the leaves they index
(``LeafLogView.record``):

* ``<projection>_nodes (level, idx, hash)``: the root of every complete subtree of
  ``2**level`` leaves, ``[idx << level, (idx + 1) << level)``, from level ``NODE_LEVEL`` up
  (an eighth as many rows as leaves). The subtrees below are recomputed from one block of
  ``2**NODE_LEVEL`` leaves read in one query.
* ``<projection>_runs (first_index, first_position, length)``: leaf indexes to positions,
  one row per run of consecutive positions (notification ids skip rarely: a SQLite store
  has one run, a PostgreSQL one a run per gap), so a position's leaf index, or an index's
  position, is one indexed read.

A store whose leaves were logged before these tables existed gets them once, by
``LeafTree.complete_tree`` (a proof calls it first): batches replay the old leaves through
a frontier from a marker document, each batch with its nodes, runs and the marker in one
transaction under the leaf log's tracking lock, so it resumes where it stopped and writes
every node exactly once. Leaves logged since write their own nodes (a new leaf's index is
the frontier's size, whatever the backfill has done), so the backfill stops at the first
indexed leaf."""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

import structlog

from infra.merkle import Frontier
from projections.documents import Cursor, Document, encode

log = structlog.get_logger(__name__)

T = TypeVar("T")

NODE_LEVEL = 4
"""The lowest level of stored subtrees: 16 leaves and up."""
BLOCK = 1 << NODE_LEVEL
_BACKFILL = ("merkle", "tree")
"""The marker of the backfill of a store logged before the tree was stored."""


class TreeNotStored(LookupError):
    """A subtree a proof needs is not stored (the tree is not complete up to that size)."""


class TreeTables(Protocol):
    """What the tree needs of the leaf log's view (``LeafLogView``)."""

    def sql(self, text: str) -> str:
        """``text`` with the tables' names and the backend's placeholder."""

    def transaction(self, *, commit: bool) -> AbstractContextManager[Any]: ...
    def lock_tracking(self, c: Cursor, name: str) -> None: ...
    def upsert_statement(self) -> str: ...
    def frontier_in(self, c: Cursor) -> tuple[Frontier, int]: ...
    def document_in(self, c: Cursor, kind: str, ident: str) -> Document | None: ...


class LeafTree:
    """The runs and nodes tables of one leaf log, written and read."""

    def __init__(self, tables: TreeTables, tracking_name: str) -> None:
        self.tables = tables
        self._l = tables.sql
        self.tracking_name = tracking_name

    def write_tree(
        self,
        c: Cursor,
        first_index: int,
        positions: list[int],
        nodes: list[tuple[int, int, bytes]],
    ) -> None:
        """Record leaves ``first_index...`` at ``positions`` and the subtrees they completed
        (those of ``NODE_LEVEL`` and up are kept)."""
        stored = [node for node in nodes if node[0] >= NODE_LEVEL]
        if stored:
            c.executemany(
                self._l("INSERT INTO {nodes} (level, idx, hash) VALUES (?, ?, ?)"), stored
            )
        if not positions:
            return
        runs: list[list[int]] = []
        for offset, position in enumerate(positions):
            if runs and runs[-1][1] + runs[-1][2] == position:
                runs[-1][2] += 1
            else:
                runs.append([first_index + offset, position, 1])
        c.execute(
            self._l(
                "SELECT first_index, first_position, length FROM {runs} "
                "WHERE first_index < ? ORDER BY first_index DESC LIMIT 1"
            ),
            (first_index,),
        )
        last = c.fetchone()
        if (
            last is not None
            and last["first_index"] + last["length"] == first_index
            and last["first_position"] + last["length"] == runs[0][1]
        ):
            c.execute(
                self._l("UPDATE {runs} SET length = length + ? WHERE first_index = ?"),
                (runs[0][2], last["first_index"]),
            )
            runs = runs[1:]
        if runs:
            c.executemany(
                self._l(
                    "INSERT INTO {runs} (first_index, first_position, length) VALUES (?, ?, ?)"
                ),
                [tuple(run) for run in runs],
            )

    # ---- the backfill -----------------------------------------------------------------

    def complete_tree(self, batch_size: int = 20_000) -> int:
        """Store the nodes and runs of leaves logged before they were stored; returns how
        many leaves it indexed (0: nothing left to do). Resumable, exactly once."""
        done = 0
        while True:
            indexed = self._backfill_batch(batch_size)
            if indexed is None:
                if done:
                    log.info("integrity.tree_backfilled", leaves=done)
                return done
            done += indexed

    def _backfill_batch(self, batch_size: int) -> int | None:
        tables = self.tables
        with tables.transaction(commit=True) as c:
            if (tables.document_in(c, *_BACKFILL) or {}).get("done"):
                return None
            tables.lock_tracking(c, self.tracking_name)
            state = tables.document_in(c, *_BACKFILL) or {  # again, under the lock
                "size": 0,
                "last_position": 0,
                "peaks": [],
            }
            if state.get("done"):
                return None
            size = int(state["size"])
            c.execute(
                self._l("SELECT MIN(first_index) AS n FROM {runs} WHERE first_index >= ?"), (size,)
            )
            live = c.fetchone()["n"]
            limit = int(live) if live is not None else tables.frontier_in(c)[0].size
            frontier = Frontier(size, [bytes.fromhex(p) for p in state["peaks"]])
            c.execute(
                self._l(
                    "SELECT position, leaf FROM {leaves} WHERE position > ? "
                    "ORDER BY position LIMIT ?"
                ),
                (state["last_position"], max(0, min(batch_size, limit - size))),
            )
            rows = c.fetchall()
            nodes: list[tuple[int, int, bytes]] = []
            for row in rows:
                nodes += frontier.append_nodes(bytes(row["leaf"]))
            positions = [int(row["position"]) for row in rows]
            self.write_tree(c, size, positions, nodes)
            marker = {
                "size": frontier.size,
                "last_position": positions[-1] if positions else state["last_position"],
                "peaks": [p.hex() for p in frontier.peaks],
                "done": frontier.size >= limit,
            }
            c.execute(tables.upsert_statement(), (*_BACKFILL, 0, None, encode(marker)))
            return len(rows)

    # ---- reading ----------------------------------------------------------------------

    def read_tree(self, work: Callable[["TreeReader"], T]) -> T:
        """Run ``work`` with the stored tree, in one read transaction."""
        with self.tables.transaction(commit=False) as c:
            return work(TreeReader(self.tables.sql, c))


class TreeReader:
    """Subtree hashes and leaf indexes from the stored tree, within one transaction."""

    def __init__(self, sql: Callable[[str], str], c: Cursor) -> None:
        self._l = sql
        self._c = c
        self._blocks: dict[int, list[bytes]] = {}

    def index_of(self, position: int) -> int | None:
        """The leaf index of a logged position (None: not logged, or not indexed yet)."""
        self._c.execute(
            self._l(
                "SELECT first_index, first_position, length FROM {runs} "
                "WHERE first_position <= ? ORDER BY first_position DESC LIMIT 1"
            ),
            (position,),
        )
        run = self._c.fetchone()
        if run is None or position >= run["first_position"] + run["length"]:
            return None
        return int(run["first_index"]) + position - int(run["first_position"])

    def node(self, level: int, index: int) -> bytes:
        if level >= NODE_LEVEL:
            self._c.execute(
                self._l("SELECT hash FROM {nodes} WHERE level = ? AND idx = ?"), (level, index)
            )
            row = self._c.fetchone()
            if row is None:
                raise TreeNotStored(f"no stored subtree at level {level}, index {index}")
            return bytes(row["hash"])
        first = index << level
        block = self._block(first >> NODE_LEVEL)
        offset = first % BLOCK
        leaves = block[offset : offset + (1 << level)]
        if len(leaves) != 1 << level:
            raise TreeNotStored(f"fewer leaves than the subtree at level {level}, index {index}")
        frontier = Frontier()
        for leaf in leaves:
            frontier.append(leaf)
        return frontier.root()

    def _block(self, block: int) -> list[bytes]:
        if block not in self._blocks:
            first = block * BLOCK
            self._c.execute(
                self._l(
                    "SELECT first_index, first_position FROM {runs} "
                    "WHERE first_index <= ? ORDER BY first_index DESC LIMIT 1"
                ),
                (first,),
            )
            run = self._c.fetchone()
            if run is None:
                raise TreeNotStored(f"leaf {first} is not indexed")
            position = int(run["first_position"]) + first - int(run["first_index"])
            self._c.execute(
                self._l("SELECT leaf FROM {leaves} WHERE position >= ? ORDER BY position LIMIT ?"),
                (position, BLOCK),
            )
            self._blocks[block] = [bytes(r["leaf"]) for r in self._c.fetchall()]
        return self._blocks[block]
