"""A snapshot as CSV: one row per key result, rendered from the digested snapshot document,
with people's names from the directory beside their ids (never part of the document).

Columns are only ever appended, so a spreadsheet reading them by position keeps working:
after the recorded ones, the owners' names, the progress of the last check-in toward the
target, and for a key result whose measure was changed after lock, its baseline and target
at lock and the score it would have had against them (``services.reports.board_figures``)."""

from collections.abc import Iterator, Mapping

from events.key_result_definition import Group, Kind, fields_of
from infra.csv_writer import Cell, csv_document
from projections.snapshot import Snapshot
from services.reports.board_figures import key_result_progress, measures_at_lock, score_against

#: The key result's measure (the definition's ``MEASURE`` fields), its numbers last so
#: that baseline and target stand beside the last value; ``title`` heads ``key_result``.
_MEASURE = tuple(
    f.name for f in sorted(fields_of(Group.MEASURE), key=lambda f: f.kind is Kind.NUMBER)
)
CSV_COLUMNS = (
    "cycle", "objective_id", "objective", "objective_owner", "key_result_id",
    *("key_result" if name == "title" else name for name in _MEASURE),
    "last_value", "confidence", "last_check_in_at", "score", "score_rule", "status",
    "objective_owner_name", "owner_name", "progress",
    "baseline_at_lock", "target_at_lock", "score_against_target_at_lock",
)  # fmt: skip


def to_csv(snapshot: Snapshot, names: Mapping[str, str] | None = None) -> bytes:
    """One row per key result (retired ones included, with their status). Numbers are
    written as in the canonical JSON; text that a spreadsheet would run as a formula is
    neutralised by the one CSV writer (``infra.csv_writer``). ``names``: user id -> name;
    a name column is empty for an id without one."""
    return csv_document(CSV_COLUMNS, _csv_rows(snapshot, names or {}))


def _csv_rows(snapshot: Snapshot, names: Mapping[str, str]) -> Iterator[list[Cell]]:
    cycle = snapshot.document["cycle"]
    at_lock = measures_at_lock(snapshot.document)
    for objective in snapshot.document["objectives"]:
        for kr in objective["key_results"]:
            check_in, score = kr["last_check_in"] or {}, kr["score"] or {}
            measure = at_lock.get(kr["id"])
            against = None
            if measure is not None and score:
                against = score_against(measure, score.get("final_value"))
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
                names.get(objective["owner"]),
                names.get(kr["owner"]),
                key_result_progress(kr),
                measure.baseline if measure else None,
                measure.target if measure else None,
                against,
            ]
