"""What "My work" shows of one person: for each open cycle (and the last closed one), the
key results they own as the Monday page shows them (``monday_rows.key_result_row``) and
the objectives they own with their progress (the board pack's mean,
``board_figures.objective_progress``). The lists are ``projections.owned``'s, the ones
``GET /v1/key-results?owner=me`` and ``GET /v1/objectives?owner=me`` answer."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from events.values import CycleState
from projections.check_in_weeks import WeekCheckIn
from projections.documents import Document
from services.reports.board_figures import objective_progress
from services.reports.monday_rows import OPEN_STATES, KeyResultRow, due_week, key_result_row

CLOSED_STATES = (CycleState.CLOSED.value, CycleState.SEALED.value)


def cycles_shown(cycles: Sequence[Document]) -> list[Document]:
    """The open cycles and the last closed one, latest first."""
    ordered = sorted(cycles, key=lambda c: (c["starts_on"], c["created_at"], c["id"]))
    closed = [c for c in ordered if c["state"] in CLOSED_STATES]
    shown = [c for c in ordered if c["state"] in OPEN_STATES] + closed[-1:]
    return sorted(shown, key=lambda c: (c["starts_on"], c["created_at"], c["id"]), reverse=True)


@dataclass(frozen=True)
class ObjectiveRow:
    id: str
    title: str
    level: str
    status: str
    key_results: int
    progress: float | None
    score: float | None


def objective_row(objective: Document) -> ObjectiveRow:
    """An objective with the mean progress of its live key results (as the board pack
    works it out from a snapshot's ``last_check_in``)."""
    as_in_snapshot = {
        "key_results": [
            {**kr, "last_check_in": kr.get("latest_check_in")} for kr in objective["key_results"]
        ]
    }
    return ObjectiveRow(
        objective["id"],
        objective["title"],
        objective["level"],
        objective["status"],
        len(objective["key_results"]),
        objective_progress(as_in_snapshot),
        objective["score"]["value"] if objective.get("score") else None,
    )


@dataclass(frozen=True)
class CycleWork:
    cycle: Document
    week: date | None
    key_results: list[KeyResultRow]
    objectives: list[ObjectiveRow]

    @property
    def silent(self) -> int:
        """How many of the key results are not checked in for the week due."""
        return sum(1 for row in self.key_results if row.checked_in is False)


def cycle_work(
    cycle: Document,
    key_results: Sequence[Document],
    objectives: Sequence[Document],
    weeks: Mapping[str, Sequence[WeekCheckIn]],
    today: date,
) -> CycleWork:
    week = due_week(cycle, today)
    return CycleWork(
        cycle,
        week,
        [key_result_row(kr, weeks.get(kr["id"], ()), week) for kr in key_results],
        [objective_row(o) for o in objectives],
    )
