"""What the Monday page shows of a cycle, worked out from the OKR state's documents and the
key results' weekly check-ins (``projections.check_in_weeks``): which cycle is current,
its next step and who takes it, the objectives in their alignment tree (filtered by team,
owner and level) with a row per key result, who has not checked in this week, and the
change requests waiting for a decision.

Progress toward a target is the board pack's (``board_figures.progress``); the charts are
``charts``' deterministic SVG. Nothing here reads a view: the route hands the documents
in, so the page and the API read the same ones."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from events.values import ChangeRequestStatus, CycleState, Level
from projections.check_in_weeks import WeekCheckIn, week_of
from projections.documents import Document
from projections.okr_state import alignment_tree
from services.application.people import Person
from services.reports.board_figures import progress
from services.reports.charts import progress_bar, sparkline

OPEN_STATES = (CycleState.PLANNING.value, CycleState.LOCKED.value)
LEVELS = tuple(level.value for level in Level)


def current_cycle(cycles: Sequence[Document]) -> Document | None:
    """The latest cycle (by start date) not closed yet, else the latest of all."""
    ordered = sorted(cycles, key=lambda c: (c["starts_on"], c["created_at"], c["id"]))
    open_ = [c for c in ordered if c["state"] in OPEN_STATES]
    found = open_ or ordered
    return found[-1] if found else None


@dataclass(frozen=True)
class NextStep:
    action: str | None
    """The command an executive runs next (``lock``, ``close``, ``seal``), or None."""
    says: str
    who: str


def next_step(cycle: Document, today: date) -> NextStep:
    """What happens next to the cycle, and who does it."""
    state, ends_on = cycle["state"], cycle["ends_on"]
    if state == CycleState.PLANNING:
        return NextStep(
            "lock", "Lock the cycle once its key results are agreed: after lock they change "
            "only by approved change request.", "an executive",
        )  # fmt: skip
    if state == CycleState.LOCKED:
        if today.isoformat() >= ends_on:
            return NextStep("close", f"Close the cycle: it ended on {ends_on}.", "an executive")
        return NextStep(
            "close", f"Close the cycle at quarter end ({ends_on}); closing before then needs "
            "a reason.", "an executive",
        )  # fmt: skip
    if state == CycleState.CLOSED:
        return NextStep(
            "seal", "Seal the quarter-end snapshot: its digest goes into the board minutes.",
            "an executive",
        )  # fmt: skip
    return NextStep(None, "Done: the quarter-end snapshot is sealed.", "nobody")


def due_week(cycle: Document, today: date) -> date | None:
    """The Monday of the week whose check-ins are due now (a cycle past its end reports its
    last week), or None when the cycle takes no check-ins (closed, or not started)."""
    if cycle["state"] not in OPEN_STATES or today.isoformat() < cycle["starts_on"]:
        return None
    return week_of(min(today, date.fromisoformat(cycle["ends_on"])))


@dataclass(frozen=True)
class Filters:
    team: str | None = None
    owner: str | None = None
    level: str | None = None

    @property
    def by_person(self) -> bool:
        return bool(self.team or self.owner)

    def person(self, user: str, people: Mapping[str, Person]) -> bool:
        """Whether ``user`` is among those the team and owner filters ask for."""
        found = people.get(user)
        team_ok = not self.team or (found is not None and found.team == self.team)
        return team_ok and (not self.owner or user == self.owner)


@dataclass(frozen=True)
class KeyResultRow:
    id: str
    title: str
    owner: str
    unit: str
    baseline: float
    target: float
    status: str
    last_value: float | None
    confidence: float | None
    reported_week: str | None
    progress: float | None
    bar: str
    spark: str
    confidences: tuple[float, ...]
    score: float | None
    checked_in: bool | None
    """Checked in for the week due; None when no week is due."""


@dataclass(frozen=True)
class ObjectiveNode:
    id: str
    title: str
    owner: str
    level: str
    status: str
    score: float | None
    rows: list[KeyResultRow]
    children: list["ObjectiveNode"] = field(default_factory=list)


def _checked_in(kr: Document, weeks: Sequence[WeekCheckIn], week: date | None) -> bool | None:
    if week is None:
        return None
    latest = kr.get("latest_check_in") or {}
    reported = latest.get("effective_on") or str(latest.get("at") or "")[:10]
    if reported and week_of(date.fromisoformat(reported[:10])) == week:
        return True
    return any(point.week == week for point in weeks)


def key_result_row(kr: Document, weeks: Sequence[WeekCheckIn], week: date | None) -> KeyResultRow:
    latest = kr.get("latest_check_in")
    value = latest["value"] if latest else None
    confidences = tuple(point.confidence for point in weeks)
    if latest and not confidences:
        confidences = (float(latest["confidence"]),)
    fraction = progress(kr["baseline"], kr["target"], value)
    reported = (latest.get("effective_on") or str(latest["at"])[:10]) if latest else None
    return KeyResultRow(
        id=kr["id"],
        title=kr["title"],
        owner=kr["owner"],
        unit=kr.get("unit") or "",
        baseline=kr["baseline"],
        target=kr["target"],
        status=kr["status"],
        last_value=value,
        confidence=latest["confidence"] if latest else None,
        reported_week=reported,
        progress=fraction,
        bar=progress_bar(fraction),
        spark=sparkline(confidences),
        confidences=confidences,
        score=kr["score"]["value"] if kr.get("score") else None,
        checked_in=_checked_in(kr, weeks, week) if kr["status"] == "active" else None,
    )


def flatten(objectives: Iterable[Document]) -> list[Document]:
    """Every objective of an alignment tree, parents before their children."""
    found: list[Document] = []
    for o in objectives:
        found.append(o)
        found.extend(flatten(o.get("children", [])))
    return found


#: A cycle with more key results than this opens on its company level (with who is silent
#: there); its other levels are a filter away. A firm-wide page of thousands of rows is no
#: Monday read, and reading every key result's weeks costs seconds (bench/console.py).
LARGE_CYCLE = 500


def is_large(objectives: Sequence[Document]) -> bool:
    """More key results than a Monday page shows whole (``LARGE_CYCLE``)."""
    return sum(len(o["key_results"]) for o in objectives) > LARGE_CYCLE


def narrowed(objectives: Sequence[Document], filters: Filters) -> Filters:
    """The filters the page opens with: those asked for, or the company level of a large
    cycle when none were."""
    if filters.team or filters.owner or filters.level or not is_large(objectives):
        return filters
    return Filters(level="company")


def in_view(
    objectives: Sequence[Document], filters: Filters, people: Mapping[str, Person]
) -> list[Document]:
    """The objectives the filters can show (their children left out): those whose weeks
    the page reads, and whose silence it lists when the filters narrow the page."""
    return [
        {**o, "children": []}
        for o in objectives
        if (not filters.level or o["level"] == filters.level)
        and (
            not filters.by_person
            or filters.person(o["owner"], people)
            or any(filters.person(kr["owner"], people) for kr in o["key_results"])
        )
    ]


def objective_tree(
    tree: Document,
    weeks: Mapping[str, Sequence[WeekCheckIn]],
    people: Mapping[str, Person],
    filters: Filters,
    week: date | None,
) -> list[ObjectiveNode]:
    """The cycle's objectives that pass the filters, in their alignment tree (one whose
    parent is filtered out moves up to the top), each with its key results' rows. With a
    team or owner filter an objective shows when its owner or one of its key results'
    owners passes; its rows are then those whose owner passes (all of them when the
    objective's own owner does)."""
    kept: list[Document] = []
    for o in flatten(tree["objectives"]):
        if filters.level and o["level"] != filters.level:
            continue
        krs = o["key_results"]
        if filters.by_person and not filters.person(o["owner"], people):
            krs = [kr for kr in krs if filters.person(kr["owner"], people)]
            if not krs:
                continue
        kept.append({**o, "key_results": krs, "children": []})

    def node(o: Document) -> ObjectiveNode:
        rows = [key_result_row(kr, weeks.get(kr["id"], ()), week) for kr in o["key_results"]]
        score = o["score"]["value"] if o.get("score") else None
        return ObjectiveNode(
            o["id"], o["title"], o["owner"], o["level"], o["status"], score, rows,
            [node(c) for c in o["children"]],
        )  # fmt: skip

    return [node(o) for o in alignment_tree(kept)]


@dataclass(frozen=True)
class Silent:
    """An owner with live key results not checked in for the week due."""

    owner: str
    key_results: list[tuple[str, str]]
    """(id, title) of each."""


def silent_owners(
    tree: Document, weeks: Mapping[str, Sequence[WeekCheckIn]], week: date | None
) -> list[Silent]:
    """Owners of the live key results (of live objectives) with no check-in reporting the
    week due, each with those key results; none when no week is due."""
    if week is None:
        return []
    by_owner: dict[str, list[tuple[str, str]]] = {}
    for o in flatten(tree["objectives"]):
        if o["status"] != "active":
            continue
        for kr in o["key_results"]:
            if kr["status"] == "active" and not _checked_in(kr, weeks.get(kr["id"], ()), week):
                by_owner.setdefault(kr["owner"], []).append((kr["id"], kr["title"]))
    return [Silent(owner, krs) for owner, krs in sorted(by_owner.items())]


def pending_requests(requests: Iterable[Document], tree: Document) -> list[Document]:
    """The change requests of this cycle waiting for a decision, oldest first."""
    objectives = flatten(tree["objectives"])
    ids = {tree["id"]} | {o["id"] for o in objectives}
    ids |= {kr["id"] for o in objectives for kr in o["key_results"]}
    titles = {o["id"]: o["title"] for o in objectives}
    titles |= {kr["id"]: kr["title"] for o in objectives for kr in o["key_results"]}
    titles[tree["id"]] = tree["name"]
    found = [
        {**r, "target_title": titles.get(r["target_id"], r["target_id"])}
        for r in requests
        if r["status"] == ChangeRequestStatus.PENDING
        and (r["target_id"] in ids or r.get("cycle_id") == tree["id"])
    ]
    return sorted(found, key=lambda r: (r["requested_at"], r["id"]))


def filter_choices(
    tree: Document, people: Mapping[str, Person], names: Mapping[str, str]
) -> dict[str, list[tuple[str, str]]]:
    """The options of the filters: the teams and owners of this cycle's objectives and key
    results (value, label), and the levels."""
    objectives = flatten(tree["objectives"])
    owners = {o["owner"] for o in objectives} | {
        kr["owner"] for o in objectives for kr in o["key_results"]
    }
    teams = sorted({people[u].team for u in owners if u in people})
    return {
        "team": [(t, t) for t in teams],
        "owner": sorted(((u, names.get(u, u)) for u in owners), key=lambda p: (p[1], p[0])),
        "level": [(level, level) for level in LEVELS],
    }
