"""The board pack's summary as data, for a page that shows it beside the snapshot (the
console's quarter-end page): the headline figures and each live objective's figure, worked
out as the board report works them out (``services.reports.snapshot_html``): scores at
quarter end (a closed or sealed cycle), progress toward the targets before."""

from dataclasses import dataclass

from projections.documents import Document
from services.reports.board_figures import SCORED_STATES, objective_progress


@dataclass(frozen=True)
class ObjectiveFigure:
    id: str
    title: str
    owner: str
    level: str
    commitment: str
    figure: str


@dataclass(frozen=True)
class BoardSummary:
    scored: bool
    """Scores (quarter end) rather than progress toward the targets."""
    figures: list[tuple[str, str]]
    objectives: list[ObjectiveFigure]


def board_summary(document: Document, *, sealed: bool) -> BoardSummary:
    """The summary of the snapshot ``document``; ``sealed``: the cycle has a seal shown
    beside it (it is then a quarter-end report whatever state the document records)."""
    scored = sealed or document["cycle"]["state"] in SCORED_STATES
    live = [o for o in document["objectives"] if o["status"] == "active"]

    def value(objective: Document) -> float | None:
        if scored:
            return objective["score"]["value"] if objective["score"] else None
        return objective_progress(objective)

    def shown(figure: float | None) -> str:
        if figure is None:
            return "–"
        return f"{figure:.2f}" if scored else f"{figure:.0%}"

    values = [v for v in (value(o) for o in live) if v is not None]
    mean = sum(values) / len(values) if values else None
    if scored:
        average = ("Mean objective score", shown(mean) if values else "not scored")
    else:
        average = ("Mean progress to target", shown(mean) if values else "no check-ins")
    counts, policy = document["counts"], document["policy"]
    figures = [
        ("Objectives", str(counts["objectives"])),
        ("Key results", str(counts["key_results"])),
        average,
        ("Check-ins", str(counts["check_ins"])),
        ("Changes after lock", str(counts["changes_after_lock"])),
        ("Guardrail policy", f"v{policy['number']}" if policy else "none"),
    ]
    objectives = [
        ObjectiveFigure(
            o["id"], o["title"], o["owner"], o["level"], o["commitment"], shown(value(o))
        )
        for o in live
    ]
    return BoardSummary(scored, figures, objectives)
