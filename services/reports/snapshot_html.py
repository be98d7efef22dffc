"""A snapshot as a printable HTML report for the board (the CSV is
``services.reports.snapshot_csv``). It renders the digested snapshot document, so every
figure on the page is covered by the digest printed at its foot; beside it only what is
about the document, not in it: the firm's name, people's names from the directory (never
recorded), and the cycle's seal (a document cannot hold its own digest).

A closed or sealed cycle's report is the quarter-end snapshot, with scores; any other is a
progress report as of the snapshot's time, with progress toward each target instead. A key
result whose measure was changed after lock shows its measure at lock beside the changed
one, and the score (or progress) against it (``services.reports.board_figures``).

The HTML is one self-contained file: inline CSS and SVG, no JavaScript, no external fonts
or images, so it prints and archives as it is. Over 300 lines because it is one page:
its sections, formatting and stylesheet read together."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any

from projections.documents import Document
from projections.snapshot import Snapshot
from services.application.snapshots import Seal
from services.reports.board_figures import (
    SCORED_STATES,
    AtLock,
    key_result_progress,
    measures_at_lock,
    objective_progress,
    person,
    progress_against,
    score_against,
)
from services.reports.board_summary import board_summary


@dataclass(frozen=True)
class _Pack:
    """One rendering: the snapshot, what is shown beside it, and what is worked out once."""

    snapshot: Snapshot
    names: Mapping[str, str]
    seal: Seal | None
    at_lock: dict[str, AtLock] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "at_lock", measures_at_lock(self.snapshot.document))

    @property
    def sealed(self) -> bool:
        """Whether the seal is shown: this is the sealed snapshot, or one taken after it."""
        return self.seal is not None and (
            self.seal.digest == self.snapshot.digest
            or self.snapshot.document["cycle"]["state"] == "sealed"
        )

    @property
    def scored(self) -> bool:
        """The quarter-end snapshot (closed or sealed) rather than a progress report."""
        return self.sealed or self.snapshot.document["cycle"]["state"] in SCORED_STATES

    def who(self, user_id: str | None) -> str:
        return escape(person(user_id, self.names))

    def key_result_figure(self, kr: Document) -> float | None:
        if self.scored:
            return kr["score"]["value"] if kr["score"] else None
        return key_result_progress(kr)

    def objective_figure(self, objective: Document) -> float | None:
        if self.scored:
            return objective["score"]["value"] if objective["score"] else None
        return objective_progress(objective)

    def figure(self, value: float | None) -> str:
        """A score (0.80) at quarter end; progress (80%) before."""
        return _score(value) if self.scored else _percent(value)

    def against_lock(self, kr: Document) -> str:
        """For a key result moved after lock: its figure against the measure at lock."""
        measure = self.at_lock.get(kr["id"])
        if measure is None:
            return ""
        if self.scored:
            final = kr["score"]["final_value"] if kr["score"] else None
            return f"{_score(score_against(measure, final))} against the target at lock"
        return f"{_percent(progress_against(measure, kr))} toward the target at lock"

    @property
    def as_of(self) -> str:
        at = self.snapshot.at
        when = f"{at:%-d %b %Y %H:%M} UTC" if at else f"event position {self.snapshot.position}"
        return f"as of {when}"


def to_html(
    snapshot: Snapshot,
    cycle_path: str,
    *,
    firm_name: str | None = None,
    names: Mapping[str, str] | None = None,
    seal: Seal | None = None,
) -> bytes:
    """The board report; ``cycle_path`` is the API path of the cycle, for the verify steps;
    ``firm_name`` heads it; ``names`` (user id -> name) name people beside their ids;
    ``seal`` is the cycle's seal, if it is sealed. The same arguments give the same bytes."""
    pack = _Pack(snapshot, names or {}, seal)
    doc = snapshot.document
    cycle = doc["cycle"]
    objectives = {o["id"]: o for o in doc["objectives"]}
    kind = "quarter-end OKR snapshot" if pack.scored else f"OKR progress report {pack.as_of}"
    title = f"{firm_name} · " if firm_name else ""
    title += f"{cycle['name']}: {kind}"
    figures = "Scores by objective" if pack.scored else "Progress by objective"
    body = "\n".join(
        [
            _masthead(pack, firm_name),
            _summary(pack),
            _section(figures, _chart(pack) + _chart_legend(pack)),
            _section("Objectives and key results", _objective_tables(pack, objectives)),
            _section("Alignment", _alignment(pack, doc["alignment"], objectives)),
            _section("Changes after lock", _changes(pack)),
            _section("Evidence", _evidence(pack, cycle_path)),
        ]
    )
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="okrgov-snapshot-digest" content="{snapshot.digest}">'
        f'<meta name="okrgov-snapshot-position" content="{snapshot.position}">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
    return page.encode("utf-8")


def _section(heading: str, content: str) -> str:
    return f"<section><h2>{escape(heading)}</h2>{content}</section>"


def _masthead(pack: _Pack, firm_name: str | None) -> str:
    snapshot = pack.snapshot
    cycle = snapshot.document["cycle"]
    period = f"{_day(cycle['starts_on'])} to {_day(cycle['ends_on'])}"
    milestones = [("Locked", cycle["locked_at"]), ("Closed", cycle["closed_at"])]
    if not pack.sealed:
        milestones.append(("Sealed", cycle["sealed_at"]))
    when = " · ".join(f"{label} {_moment(at)}" for label, at in milestones if at)
    kicker = (
        "Board pack · OKR results · quarter-end snapshot"
        if pack.scored
        else f"Board pack · OKR progress · progress report, {pack.as_of}"
    )
    seal = pack.seal
    if pack.sealed and seal is not None:
        state = f"<b>sealed</b> by {pack.who(seal.sealed_by)} on {_moment(seal.sealed_at)}"
    else:
        state = f"<b>{escape(cycle['state'])}</b>"
    which = ""
    if pack.sealed and seal is not None:
        which = (
            " · this is the sealed snapshot"
            if seal.digest == snapshot.digest
            else f" · the sealed snapshot is at position {seal.position}"
        )
    return (
        '<header class="masthead">'
        + (f'<p class="firm">{escape(firm_name)}</p>' if firm_name else "")
        + f'<p class="kicker">{escape(kicker)}</p>'
        f"<h1>Cycle {escape(cycle['name'])}</h1>"
        f'<p class="period">{escape(period)} · state: {state}</p>'
        f'<p class="period">{escape(when)}</p>'
        f'<p class="stamp">Digest <code>{_short(snapshot.digest)}</code> · as of event '
        f"position <b>{snapshot.position}</b>{which} · how to verify: see Evidence</p>"
        "</header>"
    )


def _summary(pack: _Pack) -> str:
    figures = board_summary(pack.snapshot.document, sealed=pack.sealed).figures
    cells = "".join(
        f'<div class="figure"><span class="value">{escape(value)}</span>'
        f'<span class="label">{escape(label)}</span></div>'
        for label, value in figures
    )
    return f'<div class="summary">{cells}</div>'


# ---- the chart ------------------------------------------------------------------------

_BAR_COLOURS = {"committed": "#1f3a5f", "aspirational": "#4f7cac"}
_CHART_WIDTH, _LABEL_WIDTH, _ROW, _BAR = 680, 300, 30, 16


def _chart(pack: _Pack) -> str:
    """Horizontal bars, one per live objective, on a 0-1 scale with the 0.7 mark (a strong
    result for an aspirational objective) and 1.0 (the expectation when committed); in a
    progress report, progress toward the targets from 0% to 100%."""
    live = [o for o in pack.snapshot.document["objectives"] if _live(o)]
    if not live:
        return "<p class='muted'>No objectives.</p>"
    plot = _CHART_WIDTH - _LABEL_WIDTH - 60
    top, height = 24, 24 + _ROW * len(live) + 8

    def x(score: float) -> float:
        return _LABEL_WIDTH + plot * score

    parts = [
        f'<svg class="chart" viewBox="0 0 {_CHART_WIDTH} {height}" width="{_CHART_WIDTH}" '
        f'height="{height}" role="img" aria-label="Scores by objective" '
        'xmlns="http://www.w3.org/2000/svg" font-family="Helvetica, Arial, sans-serif">'
    ]
    ticks, solid = ((0.0, 0.3, 0.7, 1.0), (0.7, 1.0)) if pack.scored else _PROGRESS_TICKS
    for tick in ticks:
        line = 'stroke="#8a8a8a"' if tick in solid else 'stroke="#d5d5d5" stroke-dasharray="2 3"'
        label = f"{tick:.1f}" if pack.scored else f"{tick:.0%}"
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{top - 6}" x2="{x(tick):.1f}" y2="{height - 6}" '
            f'{line} stroke-width="1"/>'
            f'<text x="{x(tick):.1f}" y="{top - 10}" font-size="10" fill="#555" '
            f'text-anchor="middle">{label}</text>'
        )
    for row, objective in enumerate(live):
        y = top + row * _ROW + (_ROW - _BAR) / 2
        score = pack.objective_figure(objective)
        width = plot * (score or 0.0)
        colour = _BAR_COLOURS.get(objective["commitment"], "#1f3a5f")
        label = _clip(objective["title"], 46)
        parts.append(
            f"<g><title>{escape(objective['title'])}</title>"
            f'<text x="{_LABEL_WIDTH - 10}" y="{y + _BAR - 4:.1f}" font-size="11.5" '
            f'fill="#1a1a1a" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{y:.1f}" width="{plot}" height="{_BAR}" '
            f'fill="#f1f3f6"/>'
            f'<rect x="{_LABEL_WIDTH}" y="{y:.1f}" width="{width:.1f}" height="{_BAR}" '
            f'fill="{colour}"/>'
            f'<text x="{_LABEL_WIDTH + plot + 8}" y="{y + _BAR - 4:.1f}" font-size="11.5" '
            f'font-weight="bold" fill="#1a1a1a">{pack.figure(score)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


_PROGRESS_TICKS = ((0.0, 0.25, 0.5, 0.75, 1.0), (1.0,))


def _chart_legend(pack: _Pack) -> str:
    swatch = '<span class="swatch" style="background:{}"></span>'
    if not pack.scored:
        return (
            '<p class="legend">'
            f"{swatch.format(_BAR_COLOURS['committed'])} committed "
            f"{swatch.format(_BAR_COLOURS['aspirational'])} aspirational"
            f" · progress {escape(pack.as_of)}: how far each key result's last check-in has "
            "come from its baseline (0%) to its target (100%), averaged over the objective's "
            "key results; not a score: the cycle is scored when it closes</p>"
        )
    return (
        '<p class="legend">'
        f"{swatch.format(_BAR_COLOURS['committed'])} committed (expected 1.0) "
        f"{swatch.format(_BAR_COLOURS['aspirational'])} aspirational (0.7 is a strong result)"
        " · scores from 0 to 1, scored at close by the rule named with each score</p>"
    )


# ---- objectives and key results -------------------------------------------------------


def _in_tree_order(
    nodes: list[Document], objectives: dict[str, Document], depth: int = 0
) -> Iterator[tuple[int, Document]]:
    for node in nodes:
        yield depth, objectives[node["id"]]
        yield from _in_tree_order(node["children"], objectives, depth + 1)


def _objective_tables(pack: _Pack, objectives: dict[str, Document]) -> str:
    blocks = []
    for depth, objective in _in_tree_order(pack.snapshot.document["alignment"], objectives):
        score = objective["score"]
        figure = pack.objective_figure(objective)
        if pack.scored:
            how = f"rule {score['rule']} v{score['rule_version']}" if score else "not scored"
        else:
            how = "not scored yet"
        facts = [
            escape(objective["level"]),
            escape(objective["commitment"]),
            f'owner <span class="who">{pack.who(objective["owner"])}</span>',
            "retired" if not _live(objective) else "",
            escape(how),
        ]
        rows = "".join(_key_result_row(pack, kr) for kr in objective["key_results"])
        heading = "Score" if pack.scored else "Progress"
        blocks.append(
            f'<article class="objective depth-{min(depth, 3)}">'
            '<div class="objective-head">'
            f"<h3>{escape(objective['title'])}</h3>"
            f'<span class="score {_band(figure)}">{pack.figure(figure)}</span></div>'
            f'<p class="facts">{" · ".join(f for f in facts if f)}</p>'
            + (
                f'<p class="description">{escape(objective["description"])}</p>'
                if objective["description"]
                else ""
            )
            + '<table class="key-results">'
            + _KEY_RESULT_COLUMNS
            + "<thead><tr><th>Key result</th><th>Owner</th><th>Baseline → target</th>"
            f"<th>Last value</th><th>Confidence</th><th>{heading}</th></tr></thead>"
            f"<tbody>{rows or _empty_row(6, 'No key results.')}</tbody></table></article>"
        )
    return "".join(blocks) or "<p class='muted'>No objectives.</p>"


_KEY_RESULT_COLUMNS = (
    '<colgroup><col style="width:27%"><col style="width:14%"><col style="width:17%">'
    '<col style="width:17%"><col style="width:11%"><col style="width:14%"></colgroup>'
)


def _key_result_row(pack: _Pack, kr: Document) -> str:
    check_in = kr["last_check_in"]
    unit = escape(kr["unit"])
    value = f"{_num(check_in['value'])} {unit}" if check_in else "no check-in"
    retired = ' <span class="tag">retired</span>' if kr["status"] != "active" else ""
    measure = pack.at_lock.get(kr["id"])
    moved = ' <span class="tag">changed after lock</span>' if measure else ""
    figure = pack.key_result_figure(kr)
    against = pack.against_lock(kr)
    return (
        "<tr>"
        f"<td>{escape(kr['title'])}{retired}{moved}"
        f'<span class="sub">{escape(kr["direction"])}</span></td>'
        f"<td>{pack.who(kr['owner'])}</td>"
        f'<td class="num measure">{_measure(kr, measure, unit)}</td>'
        f'<td class="num">{value}{_checked_in(check_in)}</td>'
        f'<td class="num">{_num(check_in["confidence"]) if check_in else "–"}</td>'
        f'<td class="num"><span class="score {_band(figure)}">{pack.figure(figure)}</span>'
        + (f'<span class="sub changed">{escape(against)}</span>' if against else "")
        + "</td></tr>"
    )


def _measure(kr: Document, at_lock: AtLock | None, unit: str) -> str:
    """Baseline → target as it is now; for one moved after lock, as it was at lock too."""
    now = f"{_num(kr['baseline'])} → {_num(kr['target'])} {unit}"
    if at_lock is None:
        return now
    direction = "" if at_lock.direction == kr["direction"] else f", {escape(at_lock.direction)}"
    return (
        f'<span class="sub changed">at lock: {_num(at_lock.baseline)} → '
        f"{_num(at_lock.target)} {unit}{direction}</span>"
        f"<b>{now}</b>"
        f'<span class="sub changed">changed after lock, {_moment(at_lock.changed_at)}</span>'
    )


def _checked_in(check_in: Document | None) -> str:
    """When the last check-in was recorded, and the week it reports when the snapshot
    holds it."""
    if not check_in:
        return ""
    week = check_in.get("effective_on")
    reports = f'<span class="sub">for the week of {_day(week)}</span>' if week else ""
    return f'{reports}<span class="sub">recorded {_moment(check_in["at"])}</span>'


def _alignment(pack: _Pack, nodes: list[Document], objectives: dict[str, Document]) -> str:
    if not nodes:
        return "<p class='muted'>No objectives.</p>"
    items = []
    label = "score" if pack.scored else "progress"
    for node in nodes:
        objective = objectives[node["id"]]
        figure = pack.figure(pack.objective_figure(objective))
        retired = ' <span class="tag">retired</span>' if not _live(objective) else ""
        items.append(
            f"<li><span class='node'>{escape(objective['title'])}</span>{retired} "
            f"<span class='sub inline'>{escape(objective['level'])} · "
            f"{pack.who(objective['owner'])} · {label} {figure}</span>"
            + (_alignment(pack, node["children"], objectives) if node["children"] else "")
            + "</li>"
        )
    return f'<ul class="tree">{"".join(items)}</ul>'


def _changes(pack: _Pack) -> str:
    changes = pack.snapshot.document["changes_after_lock"]
    if not changes:
        return "<p class='muted'>No key result was changed after the cycle was locked.</p>"
    key_results = {
        kr["id"]: kr for o in pack.snapshot.document["objectives"] for kr in o["key_results"]
    }
    rows = []
    for change in changes:
        before, after = change["before"] or {}, change["after"] or {}
        fields = sorted(set(before) | set(after))
        what = "<br>".join(
            f"{escape(field)}: {_value(before.get(field))} → <b>{_value(after.get(field))}</b>"
            for field in fields
        )
        kr = key_results.get(change.get("key_result_id") or "")
        if kr is not None and pack.at_lock.get(kr["id"]):
            now = pack.figure(pack.key_result_figure(kr))
            label = "score" if pack.scored else "progress"
            what += (
                f'<span class="sub changed">{label} {now} as changed · '
                f"{escape(pack.against_lock(kr))}</span>"
            )
        title = change.get("key_result_title") or change.get("title") or ""
        rows.append(
            "<tr>"
            f"<td>{escape(title)}"
            f'<span class="sub">{escape(change["kind"])} · applied '
            f"{_moment(change['applied_at'])}</span></td>"
            f"<td>{what}</td>"
            f"<td>{pack.who(change['requested_by'])}"
            f'<span class="sub">{_moment(change["requested_at"])}</span></td>'
            f"<td>{pack.who(change['approved_by'])}"
            f'<span class="sub">{_moment(change["approved_at"])}</span></td>'
            f"<td>{escape(change['reason'] or '')}</td>"
            "</tr>"
        )
    return (
        "<p class='note'>Each change was requested with a reason and approved by someone other "
        "than its requester (four eyes) before it was applied.</p>"
        '<table class="changes"><colgroup><col style="width:20%"><col style="width:20%">'
        '<col style="width:15%"><col style="width:15%"><col style="width:30%"></colgroup>'
        "<thead><tr><th>Changed</th><th>Change (before → after)</th>"
        "<th>Requested by</th><th>Approved by</th><th>Reason</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _evidence(pack: _Pack, cycle_path: str) -> str:
    snapshot = pack.snapshot
    policy = snapshot.document["policy"]
    policy_line = (
        f"Guardrail policy version {policy['number']} was active, bundle digest "
        f"<code>{escape(policy['digest'])}</code>, approved by {pack.who(policy['approved_by'])}."
        if policy
        else "No guardrail policy version was active."
    )
    export = f"{cycle_path}/snapshot/export?format=json&amp;as_of={snapshot.position}"
    seal, seal_rows, seal_step = pack.seal, "", _UNSEALED_STEP
    if seal is not None and pack.sealed:
        seal_rows = (
            f"<tr><th>Sealed by</th><td>{pack.who(seal.sealed_by)}, "
            f"{_moment(seal.sealed_at)}</td></tr>"
            f"<tr><th>Sealed snapshot</th><td>position {seal.position}, digest "
            f"<code>{_short(seal.digest)}</code> ({escape(seal.snapshot_format)})</td></tr>"
        )
        seal_step = (
            _SEALED_STEP
            if seal.digest == snapshot.digest
            else "<li>This is not the sealed snapshot: that one is as of position "
            f"{seal.position} (<code>as_of={seal.position}</code>).</li>"
        )
    return (
        '<div class="evidence">'
        "<p>Every figure in this report is rendered from one snapshot document; people's "
        "names (from the firm's directory) and the seal are shown beside it and are not part "
        "of it. The document is the state of the cycle computed only from the event history "
        "up to the position below, serialised as canonical JSON (RFC 8785); its SHA-256 "
        "digest is:</p>"
        f'<p class="digest"><code>{_grouped(snapshot.digest)}</code></p>'
        "<table class='facts-table'>"
        f"<tr><th>Cycle</th><td><code>{escape(str(snapshot.cycle_id))}</code></td></tr>"
        f"<tr><th>As of event position</th><td>{snapshot.position}</td></tr>"
        f"<tr><th>Snapshot format</th><td>{escape(snapshot.document['format'])}</td></tr>"
        f"<tr><th>Events of this cycle</th><td>{snapshot.document['counts']['events']}</td></tr>"
        f"{seal_rows}</table><p>{policy_line}</p>"
        "<h3>How to verify this page</h3><ol>"
        + seal_step.format(verify=f"<code>GET {escape(cycle_path)}/snapshot/verify</code>")
        + f"<li>Or recompute the digest yourself: download <code>GET {export}</code> and run "
        "<code>sha256sum</code> over the bytes; it prints "
        f'<code class="whole">{snapshot.digest}</code>.</li>'
        "<li>The position is where this store recorded the snapshot; the digest does not "
        "depend on it, so a copy of the same events on another database gives the same "
        "digest at its own position.</li></ol></div>"
    )


_SEALED_STEP = (
    "<li>This is the sealed quarter-end snapshot: okrgov re-derives it from the events and "
    "compares digests: {verify} answers this digest as <code>sealed_digest</code>, with "
    "<code>matches: true</code>.</li>"
)
_UNSEALED_STEP = (
    "<li>The cycle was not sealed as of this report. Once it is, {verify} re-derives the "
    "sealed snapshot from the events and compares its digest with the one sealed.</li>"
)

# ---- formatting -----------------------------------------------------------------------


def _live(objective: Document) -> bool:
    return bool(objective["status"] == "active")


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _band(value: float | None) -> str:
    if value is None:
        return "none"
    return "high" if value >= 0.7 else "mid" if value >= 0.4 else "low"


def _num(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def _value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return escape(str(value).lower() if isinstance(value, bool) else "none")
    if isinstance(value, int | float):
        return _num(value)
    return escape(str(value))


def _day(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%-d %b %Y")


def _moment(at: str | datetime | None) -> str:
    if not at:
        return ""
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    return moment.strftime("%-d %b %Y %H:%M UTC")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _short(digest: str) -> str:
    return f"{digest[:12]}…{digest[-12:]}"


def _grouped(digest: str) -> str:
    """The digest in groups of eight, half of it per line, so it can be read out."""
    groups = [digest[i : i + 8] for i in range(0, len(digest), 8)]
    half = len(groups) // 2
    return f"{' '.join(groups[:half])}<br>{' '.join(groups[half:])}"


def _empty_row(columns: int, text: str) -> str:
    return f'<tr><td colspan="{columns}" class="muted">{escape(text)}</td></tr>'


_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm; }
* { box-sizing: border-box; }
html { color: #1a1a1a; background: #fff; }
body { margin: 0; font: 10.5pt/1.45 Helvetica, Arial, sans-serif; }
main { max-width: 190mm; margin: 0 auto; padding: 10mm 0; }
h1, h2, h3 { font-family: Georgia, "Times New Roman", serif; font-weight: normal; }
h1 { font-size: 26pt; margin: 2mm 0 1mm; color: #10233d; }
h2 { font-size: 15pt; color: #10233d; border-bottom: 1.5px solid #10233d;
     padding-bottom: 1.5mm; margin: 9mm 0 4mm; }
h3 { font-size: 12pt; margin: 0; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 9pt; }
.masthead { border-top: 5px solid #10233d; padding-top: 4mm; }
.firm { font-family: Georgia, "Times New Roman", serif; font-size: 13pt; color: #10233d;
        margin: 0 0 1mm; letter-spacing: .02em; }
.kicker { text-transform: uppercase; letter-spacing: .12em; font-size: 8.5pt; color: #4f6580;
          margin: 0; }
.period { margin: 0; color: #333; }
.stamp { margin: 3mm 0 0; font-size: 9pt; color: #4f6580; }
.summary { display: grid; grid-template-columns: repeat(6, 1fr); gap: 2mm; margin: 7mm 0 0; }
.figure { border: 1px solid #d3dae3; border-radius: 2px; padding: 2.5mm 3mm; background: #f7f9fb; }
.figure .value { display: block; font-family: Georgia, serif; font-size: 17pt; color: #10233d; }
.figure .label { display: block; font-size: 8pt; color: #4f6580; text-transform: uppercase;
                 letter-spacing: .05em; }
.chart { display: block; max-width: 100%; height: auto; margin: 1mm 0; }
.legend { font-size: 8.5pt; color: #4f6580; margin: 1mm 0 0; }
.swatch { display: inline-block; width: 9px; height: 9px; margin: 0 3px 0 8px;
          vertical-align: baseline; }
.objective { margin: 0 0 6mm; page-break-inside: avoid; break-inside: avoid; }
.objective.depth-1 { margin-left: 6mm; } .objective.depth-2 { margin-left: 12mm; }
.objective.depth-3 { margin-left: 18mm; }
.objective-head { display: flex; justify-content: space-between; align-items: baseline;
                  gap: 4mm; }
.facts { margin: .5mm 0 1.5mm; font-size: 8.5pt; color: #4f6580; text-transform: lowercase; }
.description { margin: 0 0 2mm; font-style: italic; color: #333; }
table { width: 100%; border-collapse: collapse; font-size: 9.5pt; }
table.key-results, table.changes { table-layout: fixed; }
td { overflow-wrap: anywhere; }
th { text-align: left; font-weight: bold; font-size: 8pt; text-transform: uppercase;
     letter-spacing: .04em; color: #4f6580; border-bottom: 1px solid #9fb0c3; padding: 1.5mm; }
td { border-bottom: 1px solid #e3e8ee; padding: 1.5mm; vertical-align: top; }
tr { page-break-inside: avoid; break-inside: avoid; }
td.num { white-space: nowrap; }
td.measure { white-space: normal; }
.sub { display: block; font-size: 8pt; color: #6b7c90; }
.sub.inline { display: inline; }
.sub.changed { color: #8a4b00; white-space: normal; }
.facts .who { text-transform: none; }
.tag { font-size: 7.5pt; text-transform: uppercase; border: 1px solid #b06a00; color: #b06a00;
       padding: 0 3px; border-radius: 2px; }
.score { display: inline-block; min-width: 11mm; text-align: center; font-weight: bold;
         padding: .3mm 1.5mm; border-radius: 2px; }
.score.high { background: #e3f1e6; color: #1d5e2c; }
.score.mid { background: #fbf0d9; color: #7a5200; }
.score.low { background: #f8e1de; color: #8c2316; }
.score.none { background: #eef0f3; color: #55606e; }
.tree, .tree ul { list-style: none; margin: 0; padding: 0; }
.tree ul { margin-left: 2mm; }
.tree li { position: relative; padding: .9mm 0 .9mm 0; }
.tree ul li { padding-left: 6mm; border-left: 1px solid #9fb0c3; }
.tree ul li:last-child { border-left-color: transparent; }
.tree ul li::before { content: ""; position: absolute; left: -1px; top: 0; width: 4.5mm;
                      height: 3.6mm; border-left: 1px solid #9fb0c3;
                      border-bottom: 1px solid #9fb0c3; }
.node { font-weight: bold; }
.note, .muted { color: #4f6580; font-size: 9pt; }
.evidence { border: 1px solid #10233d; padding: 4mm 5mm; background: #f7f9fb;
            page-break-inside: avoid; break-inside: avoid; }
.evidence h3 { margin-top: 4mm; }
.digest { margin: 2mm 0 3mm; white-space: nowrap; }
.digest code { font-size: 12pt; letter-spacing: .04em; line-height: 1.6; }
.facts-table { width: auto; margin-bottom: 2mm; }
.facts-table th { border: none; padding: .6mm 4mm .6mm 0; }
.facts-table td { border: none; padding: .6mm 0; }
ol { padding-left: 5mm; margin: 1mm 0 0; } li { margin: 1mm 0; }
code.whole { font-size: 8pt; word-break: break-all; }
@media print { main { padding: 0; } h2 { break-after: avoid; } }
"""
