"""The console's SVG charts: the same values draw the same bytes, values land where the
scale puts them, an empty or one-point series still draws, and each chart says its values
in words (``aria-label`` and ``<title>``) with presentation attributes only."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from services.reports.charts import progress_bar, spark_points, sparkline

SVG = "{http://www.w3.org/2000/svg}"


def _parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_same_values_draw_the_same_bytes() -> None:
    values = [0.6, 0.55, 0.7, 0.1 + 0.2]
    assert sparkline(values) == sparkline(list(values))
    assert progress_bar(3 / 7) == progress_bar(3 / 7)
    assert sparkline(values) != sparkline([0.6, 0.55, 0.7, 0.31])


def test_values_map_to_coordinates_on_a_fixed_scale() -> None:
    # 120 x 28 with a margin of 2: x from 2 to 118, 1.0 at y=2, 0.0 at y=26.
    assert spark_points([0.0, 0.5, 1.0], 120, 28) == [(2.0, 26.0), (60.0, 14.0), (118.0, 2.0)]
    assert spark_points([1.7, -3], 120, 28) == [(2.0, 2.0), (118.0, 26.0)]  # held at the edges
    line = _parsed(sparkline([0.0, 0.5, 1.0])).find(f"{SVG}polyline")
    assert line is not None
    assert line.get("points") == "2.00,26.00 60.00,14.00 118.00,2.00"
    bar = _parsed(progress_bar(0.43))
    rects = bar.findall(f"{SVG}rect")
    assert [r.get("width") for r in rects] == ["100", "43.00"]
    assert len(_parsed(progress_bar(1.5)).findall(f"{SVG}rect")) == 2  # held at 100%
    assert _parsed(progress_bar(1.5)).findall(f"{SVG}rect")[1].get("width") == "100.00"


def test_empty_and_one_point_series() -> None:
    empty = _parsed(sparkline([]))
    assert empty.find(f"{SVG}polyline") is None and empty.find(f"{SVG}circle") is None
    assert empty.get("aria-label") == "Confidence: no check-ins yet"
    one = _parsed(sparkline([0.25]))
    assert one.find(f"{SVG}polyline") is None
    dot = one.find(f"{SVG}circle")
    assert dot is not None and (dot.get("cx"), dot.get("cy")) == ("60.00", "20.00")
    assert one.get("aria-label") == "Confidence over 1 week: 0.25; latest 0.25"
    none = _parsed(progress_bar(None))
    assert len(none.findall(f"{SVG}rect")) == 1
    assert none.get("aria-label") == "Progress toward target: no value yet"


def test_each_chart_says_its_values_and_uses_no_style() -> None:
    for svg in (sparkline([0.6, 0.55, 0.7]), progress_bar(0.5)):
        root = _parsed(svg)
        assert root.get("role") == "img"
        title = root.find(f"{SVG}title")
        assert title is not None and title.text == root.get("aria-label")
        assert "style" not in svg and "<script" not in svg and not re.search(r"\son\w+=", svg)
    assert _parsed(sparkline([0.6, 0.55, 0.7])).get("aria-label") == (
        "Confidence over 3 weeks: 0.60, 0.55, 0.70; latest 0.70"
    )
    assert _parsed(progress_bar(3 / 7)).get("aria-label") == "Progress toward target: 43%"
    assert 'aria-label="Team &amp; co over 1 week' in sparkline([0.5], what="Team & co")
