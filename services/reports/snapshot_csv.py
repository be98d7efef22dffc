"""A quarter-end snapshot as CSV: one row per key result, rendered from the digested
snapshot document and nothing else."""

from collections.abc import Iterator

from events.key_result_definition import Group, Kind, fields_of
from infra.csv_writer import Cell, csv_document
from projections.snapshot import Snapshot

#: The key result's measure (the definition's ``MEASURE`` fields), its numbers last so
#: that baseline and target stand beside the last value; ``title`` heads ``key_result``.
_MEASURE = tuple(
    f.name for f in sorted(fields_of(Group.MEASURE), key=lambda f: f.kind is Kind.NUMBER)
)
CSV_COLUMNS = (
    "cycle", "objective_id", "objective", "objective_owner", "key_result_id",
    *("key_result" if name == "title" else name for name in _MEASURE),
    "last_value", "confidence", "last_check_in_at", "score", "score_rule", "status",
)  # fmt: skip


def to_csv(snapshot: Snapshot) -> bytes:
    """One row per key result (retired ones included, with their status). Numbers are
    written as in the canonical JSON; text that a spreadsheet would run as a formula is
    neutralised by the one CSV writer (``infra.csv_writer``)."""
    return csv_document(CSV_COLUMNS, _csv_rows(snapshot))


def _csv_rows(snapshot: Snapshot) -> Iterator[list[Cell]]:
    cycle = snapshot.document["cycle"]
    for objective in snapshot.document["objectives"]:
        for kr in objective["key_results"]:
            check_in, score = kr["last_check_in"] or {}, kr["score"] or {}
            yield [
                cycle["name"],
                objective["id"],
                objective["title"],
                objective["owner"],
                kr["id"],
                *(kr[name] for name in _MEASURE),
                check_in.get("value"),
                check_in.get("confidence"),
                check_in.get("at"),
                score.get("value"),
                f"{score['rule']}/{score['rule_version']}" if score else None,
                kr["status"],
            ]
