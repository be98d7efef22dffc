"""A cycle's board pack as of a position or moment, the same for the API's export and the
console's quarter-end page: the snapshot, the cycle's seal, the board report as HTML and
as PDF (``services.reports.board_pack_pdf``), and the file names they are saved under.
The same snapshot gives the same HTML bytes and the same PDF bytes, wherever it is asked."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from projections.snapshot import Snapshot
from services.application.ledger import Ledger
from services.application.principals import Principal
from services.application.snapshots import AsOf, Seal
from services.reports.board_pack_pdf import cached_pdf
from services.reports.snapshot_html import to_html


@dataclass(frozen=True)
class BoardPack:
    snapshot: Snapshot
    seal: Seal | None
    firm_name: str | None
    names: Mapping[str, str]

    @property
    def is_sealed_snapshot(self) -> bool:
        """This is the snapshot the seal recorded."""
        return self.seal is not None and self.seal.digest == self.snapshot.digest

    @property
    def moment(self) -> datetime | None:
        """What the pack is dated: the seal's time for the sealed snapshot, else the time
        of the snapshot's last event (never the clock, so a re-render is the same file)."""
        if self.is_sealed_snapshot and self.seal is not None:
            return self.seal.sealed_at
        return self.snapshot.at

    def file_name(self, extension: str) -> str:
        return f"okrgov-snapshot-{self.snapshot.cycle_id}-{self.snapshot.position}.{extension}"

    def html(self) -> bytes:
        """The board report (``services.reports.snapshot_html``)."""
        return to_html(
            self.snapshot,
            f"/v1/cycles/{self.snapshot.cycle_id}",
            firm_name=self.firm_name,
            names=self.names,
            seal=self.seal,
        )

    def pdf(self) -> bytes:
        """The board report as PDF, byte-identical for the same snapshot; blocks for a
        second or two (call it from a worker thread); ``PdfUnavailable`` without pango."""
        return cached_pdf(self.html(), digest=self.snapshot.digest, moment=self.moment)


def board_pack(
    ledger: Ledger,
    principal: Principal,
    cycle_id: UUID,
    as_of: AsOf,
    *,
    firm_name: str | None,
    names: Mapping[str, str],
) -> BoardPack:
    """The board pack of ``cycle_id`` as of ``as_of`` (None: now), read by ``principal``."""
    snapshot = ledger.snapshot(principal, cycle_id, as_of)
    seal = ledger.seal_of(principal, snapshot.cycle_id)
    return BoardPack(snapshot, seal, firm_name, names)
