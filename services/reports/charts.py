"""Small charts drawn as SVG on the server: a sparkline of a key result's confidence over
the weeks of its check-ins, and a bar of progress toward a target.

Deterministic: the same values give the same bytes (coordinates with two decimals, no
ids, no clock). Presentation attributes only (``fill=``, ``stroke=``), never ``style=``,
so the console's strict Content-Security-Policy accepts them. Each chart is an image to
assistive technology (``role="img"``) whose ``aria-label`` and ``<title>`` say its values
in words: the picture is never the only way to read them."""

from collections.abc import Sequence
from html import escape

#: Colours of the console's palette (console.css): ink for lines, accent for the bar.
LINE = "#0d5c63"
TRACK = "#c9d1d9"
FILL = "#0d5c63"
POINT = "#1b1f24"


def _n(value: float) -> str:
    """A coordinate with fixed precision (``-0.00`` written as ``0.00``)."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def _figure(value: float) -> str:
    return f"{value:.2f}"


def spark_points(
    values: Sequence[float], width: float, height: float, lo: float = 0.0, hi: float = 1.0
) -> list[tuple[float, float]]:
    """Where each value sits: evenly spaced from left to right (one value: in the middle),
    ``lo`` at the bottom and ``hi`` at the top (a value outside is held at the edge), with
    a margin of 2 so that the end points are not cut off."""
    pad = 2.0
    span = hi - lo or 1.0
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    points = []
    for i, value in enumerate(values):
        x = pad + (inner_w / 2 if len(values) == 1 else inner_w * i / (len(values) - 1))
        clamped = min(hi, max(lo, value))
        y = pad + inner_h * (1 - (clamped - lo) / span)
        points.append((round(x, 2), round(y, 2)))
    return points


def sparkline_label(values: Sequence[float], what: str = "Confidence") -> str:
    """The values in words, oldest first: ``Confidence over 3 weeks: 0.60, 0.55, 0.70;
    latest 0.70``."""
    if not values:
        return f"{what}: no check-ins yet"
    weeks = "1 week" if len(values) == 1 else f"{len(values)} weeks"
    listed = ", ".join(_figure(v) for v in values)
    return f"{what} over {weeks}: {listed}; latest {_figure(values[-1])}"


def sparkline(
    values: Sequence[float],
    *,
    what: str = "Confidence",
    width: int = 120,
    height: int = 28,
    lo: float = 0.0,
    hi: float = 1.0,
) -> str:
    """An inline SVG line through ``values`` (oldest first) on a fixed scale from ``lo``
    to ``hi``, with a dot on the latest; an empty series draws only the baseline."""
    label = escape(sparkline_label(values, what))
    points = spark_points(values, width, height, lo, hi)
    parts = [
        f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{label}">',
        f"<title>{label}</title>",
        f'<line x1="0" y1="{_n(height - 1)}" x2="{width}" y2="{_n(height - 1)}" '
        f'stroke="{TRACK}" stroke-width="1"/>',
    ]
    if len(points) > 1:
        drawn = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        parts.append(
            f'<polyline points="{drawn}" fill="none" stroke="{LINE}" stroke-width="1.5" '
            'stroke-linejoin="round" stroke-linecap="round"/>'
        )
    if points:
        x, y = points[-1]
        parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="2" fill="{POINT}"/>')
    parts.append("</svg>")
    return "".join(parts)


def progress_label(fraction: float | None) -> str:
    """``Progress toward target: 45%`` (``no value yet`` when there is none)."""
    if fraction is None:
        return "Progress toward target: no value yet"
    return f"Progress toward target: {round(min(1.0, max(0.0, fraction)) * 100)}%"


def progress_bar(fraction: float | None, *, width: int = 100, height: int = 10) -> str:
    """A horizontal bar filled to ``fraction`` (0 to 1, held within) of its width over a
    grey track; no value draws the empty track."""
    label = escape(progress_label(fraction))
    filled = 0.0 if fraction is None else width * min(1.0, max(0.0, fraction))
    parts = [
        f'<svg class="bar" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{label}">',
        f"<title>{label}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="{TRACK}"/>',
    ]
    if filled > 0:
        parts.append(f'<rect x="0" y="0" width="{_n(filled)}" height="{height}" fill="{FILL}"/>')
    parts.append("</svg>")
    return "".join(parts)
