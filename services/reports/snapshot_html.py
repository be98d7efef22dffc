"""A quarter-end snapshot as a printable HTML report for the board (the CSV is
``services.reports.snapshot_csv``). It renders the digested snapshot document and nothing
else, so every figure on the page is covered by the digest printed at its foot.

The HTML is one self-contained file: inline CSS and SVG, no JavaScript, no external fonts
or images, so it prints and archives as it is. Over 300 lines because it is one page:
its sections, formatting and stylesheet read together."""

from collections.abc import Iterator
from datetime import datetime
from html import escape
from typing import Any

from projections.documents import Document
from projections.snapshot import Snapshot


def to_html(snapshot: Snapshot, cycle_path: str) -> bytes:
    """The board report; ``cycle_path`` is the API path of the cycle, for the verify steps."""
    doc = snapshot.document
    cycle = doc["cycle"]
    objectives = {o["id"]: o for o in doc["objectives"]}
    title = f"{cycle['name']}: quarter-end OKR snapshot"
    body = "\n".join(
        [
            _masthead(snapshot),
            _summary(doc),
            _section("Scores by objective", _chart(doc["objectives"]) + _chart_legend()),
            _section("Objectives and key results", _objective_tables(doc, objectives)),
            _section("Alignment", _alignment(doc["alignment"], objectives)),
            _section("Changes after lock", _changes(doc["changes_after_lock"])),
            _section("Evidence", _evidence(snapshot, cycle_path)),
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


def _masthead(snapshot: Snapshot) -> str:
    cycle = snapshot.document["cycle"]
    period = f"{_day(cycle['starts_on'])} to {_day(cycle['ends_on'])}"
    milestones = [
        ("Locked", cycle["locked_at"]),
        ("Closed", cycle["closed_at"]),
        ("Sealed", cycle["sealed_at"]),
    ]
    when = " · ".join(f"{label} {_moment(at)}" for label, at in milestones if at)
    return (
        '<header class="masthead">'
        '<p class="kicker">Board pack · OKR results · quarter-end snapshot</p>'
        f"<h1>Cycle {escape(cycle['name'])}</h1>"
        f'<p class="period">{escape(period)} · state: <b>{escape(cycle["state"])}</b></p>'
        f'<p class="period">{escape(when)}</p>'
        f'<p class="stamp">Digest <code>{_short(snapshot.digest)}</code> · as of event '
        f"position <b>{snapshot.position}</b> · how to verify: see Evidence</p>"
        "</header>"
    )


def _summary(doc: Document) -> str:
    counts = doc["counts"]
    scored = [o["score"]["value"] for o in doc["objectives"] if o["score"] and _live(o)]
    average = _score(sum(scored) / len(scored)) if scored else "not scored"
    policy = doc["policy"]
    figures = [
        ("Objectives", str(counts["objectives"])),
        ("Key results", str(counts["key_results"])),
        ("Mean objective score", average),
        ("Check-ins", str(counts["check_ins"])),
        ("Changes after lock", str(counts["changes_after_lock"])),
        ("Guardrail policy", f"v{policy['number']}" if policy else "none"),
    ]
    cells = "".join(
        f'<div class="figure"><span class="value">{escape(value)}</span>'
        f'<span class="label">{escape(label)}</span></div>'
        for label, value in figures
    )
    return f'<div class="summary">{cells}</div>'


# ---- the chart ------------------------------------------------------------------------

_BAR_COLOURS = {"committed": "#1f3a5f", "aspirational": "#4f7cac"}
_CHART_WIDTH, _LABEL_WIDTH, _ROW, _BAR = 680, 300, 30, 16


def _chart(objectives: list[Document]) -> str:
    """Horizontal bars, one per live objective, on a 0-1 scale with the 0.7 mark (a strong
    result for an aspirational objective) and 1.0 (the expectation when committed)."""
    live = [o for o in objectives if _live(o)]
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
    for tick in (0.0, 0.3, 0.7, 1.0):
        line = (
            'stroke="#8a8a8a"' if tick in (0.7, 1.0) else 'stroke="#d5d5d5" stroke-dasharray="2 3"'
        )
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{top - 6}" x2="{x(tick):.1f}" y2="{height - 6}" '
            f'{line} stroke-width="1"/>'
            f'<text x="{x(tick):.1f}" y="{top - 10}" font-size="10" fill="#555" '
            f'text-anchor="middle">{tick:.1f}</text>'
        )
    for row, objective in enumerate(live):
        y = top + row * _ROW + (_ROW - _BAR) / 2
        score = objective["score"]["value"] if objective["score"] else None
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
            f'font-weight="bold" fill="#1a1a1a">{_score(score)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _chart_legend() -> str:
    swatch = '<span class="swatch" style="background:{}"></span>'
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


def _objective_tables(doc: Document, objectives: dict[str, Document]) -> str:
    blocks = []
    for depth, objective in _in_tree_order(doc["alignment"], objectives):
        score = objective["score"]
        facts = [
            objective["level"],
            objective["commitment"],
            f"owner {objective['owner']}",
            "retired" if not _live(objective) else "",
            f"rule {score['rule']} v{score['rule_version']}" if score else "not scored",
        ]
        rows = "".join(_key_result_row(kr) for kr in objective["key_results"])
        blocks.append(
            f'<article class="objective depth-{min(depth, 3)}">'
            '<div class="objective-head">'
            f"<h3>{escape(objective['title'])}</h3>"
            f'<span class="score {_band(score and score["value"])}">'
            f"{_score(score and score['value'])}</span></div>"
            f'<p class="facts">{escape(" · ".join(f for f in facts if f))}</p>'
            + (
                f'<p class="description">{escape(objective["description"])}</p>'
                if objective["description"]
                else ""
            )
            + '<table class="key-results">'
            + _KEY_RESULT_COLUMNS
            + "<thead><tr><th>Key result</th><th>Owner</th><th>Baseline → target</th>"
            "<th>Last value</th><th>Confidence</th><th>Score</th></tr></thead>"
            f"<tbody>{rows or _empty_row(6, 'No key results.')}</tbody></table></article>"
        )
    return "".join(blocks) or "<p class='muted'>No objectives.</p>"


_KEY_RESULT_COLUMNS = (
    '<colgroup><col style="width:32%"><col style="width:10%"><col style="width:18%">'
    '<col style="width:17%"><col style="width:13%"><col style="width:10%"></colgroup>'
)


def _key_result_row(kr: Document) -> str:
    check_in, score = kr["last_check_in"], kr["score"]
    unit = escape(kr["unit"])
    value = f"{_num(check_in['value'])} {unit}" if check_in else "no check-in"
    retired = ' <span class="tag">retired</span>' if kr["status"] != "active" else ""
    when = f'<span class="sub">{_moment(check_in["at"])}</span>' if check_in else ""
    return (
        "<tr>"
        f"<td>{escape(kr['title'])}{retired}"
        f'<span class="sub">{escape(kr["direction"])}</span></td>'
        f"<td>{escape(kr['owner'])}</td>"
        f'<td class="num">{_num(kr["baseline"])} → {_num(kr["target"])} {unit}</td>'
        f'<td class="num">{value}{when}</td>'
        f'<td class="num">{_num(check_in["confidence"]) if check_in else "–"}</td>'
        f'<td class="num"><span class="score {_band(score and score["value"])}">'
        f"{_score(score and score['value'])}</span></td>"
        "</tr>"
    )


def _alignment(nodes: list[Document], objectives: dict[str, Document]) -> str:
    if not nodes:
        return "<p class='muted'>No objectives.</p>"
    items = []
    for node in nodes:
        objective = objectives[node["id"]]
        score = objective["score"]
        retired = ' <span class="tag">retired</span>' if not _live(objective) else ""
        items.append(
            f"<li><span class='node'>{escape(objective['title'])}</span>{retired} "
            f"<span class='sub inline'>{escape(objective['level'])} · "
            f"{escape(objective['owner'])} · score {_score(score and score['value'])}</span>"
            + (_alignment(node["children"], objectives) if node["children"] else "")
            + "</li>"
        )
    return f'<ul class="tree">{"".join(items)}</ul>'


def _changes(changes: list[Document]) -> str:
    if not changes:
        return "<p class='muted'>No key result was changed after the cycle was locked.</p>"
    rows = []
    for change in changes:
        fields = sorted(set(change["before"]) | set(change["after"]))
        what = "<br>".join(
            f"{escape(field)}: {_value(change['before'].get(field))} → "
            f"<b>{_value(change['after'].get(field))}</b>"
            for field in fields
        )
        rows.append(
            "<tr>"
            f"<td>{escape(change['key_result_title'])}"
            f'<span class="sub">{escape(change["kind"])} · applied '
            f"{_moment(change['applied_at'])}</span></td>"
            f"<td>{what}</td>"
            f"<td>{escape(change['requested_by'])}"
            f'<span class="sub">{_moment(change["requested_at"])}</span></td>'
            f"<td>{escape(change['approved_by'] or '–')}"
            f'<span class="sub">{_moment(change["approved_at"])}</span></td>'
            f"<td>{escape(change['reason'] or '')}</td>"
            "</tr>"
        )
    return (
        "<p class='note'>Each change was requested with a reason and approved by someone other "
        "than its requester (four eyes) before it was applied.</p>"
        '<table class="changes"><colgroup><col style="width:20%"><col style="width:20%">'
        '<col style="width:15%"><col style="width:15%"><col style="width:30%"></colgroup>'
        "<thead><tr><th>Key result</th><th>Change (before → after)</th>"
        "<th>Requested by</th><th>Approved by</th><th>Reason</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _evidence(snapshot: Snapshot, cycle_path: str) -> str:
    policy = snapshot.document["policy"]
    policy_line = (
        f"Guardrail policy version {policy['number']} was active, bundle digest "
        f"<code>{escape(policy['digest'])}</code>."
        if policy
        else "No guardrail policy version was active."
    )
    export = f"{cycle_path}/snapshot/export?format=json&amp;as_of={snapshot.position}"
    return (
        '<div class="evidence">'
        "<p>This report renders one snapshot document and nothing else. The document is the "
        "state of the cycle computed only from the event history up to the position below, "
        "serialised as canonical JSON (RFC 8785); its SHA-256 digest is:</p>"
        f'<p class="digest"><code>{_grouped(snapshot.digest)}</code></p>'
        "<table class='facts-table'>"
        f"<tr><th>Cycle</th><td><code>{escape(str(snapshot.cycle_id))}</code></td></tr>"
        f"<tr><th>As of event position</th><td>{snapshot.position}</td></tr>"
        f"<tr><th>Snapshot format</th><td>{escape(snapshot.document['format'])}</td></tr>"
        f"<tr><th>Events of this cycle</th><td>{snapshot.document['counts']['events']}</td></tr>"
        f"</table><p>{policy_line}</p>"
        "<h3>How to verify this page</h3><ol>"
        "<li>If this is the sealed quarter-end snapshot, okrgov re-derives it from the events "
        f"and compares digests: <code>GET {escape(cycle_path)}/snapshot/verify</code> answers "
        "this digest as <code>sealed_digest</code>, with <code>matches: true</code>.</li>"
        f"<li>Or recompute the digest yourself: download <code>GET {export}</code> and run "
        "<code>sha256sum</code> over the bytes; it prints "
        f'<code class="whole">{snapshot.digest}</code>.</li>'
        "<li>The position is where this store recorded the snapshot; the digest does not "
        "depend on it, so a copy of the same events on another database gives the same "
        "digest at its own position.</li></ol></div>"
    )


# ---- formatting -----------------------------------------------------------------------


def _live(objective: Document) -> bool:
    return bool(objective["status"] == "active")


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


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


def _moment(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).strftime("%-d %b %Y %H:%M UTC")


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
.sub { display: block; font-size: 8pt; color: #6b7c90; }
.sub.inline { display: inline; }
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
