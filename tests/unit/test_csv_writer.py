"""The one CSV writer: text a spreadsheet would run as a formula comes out neutralised (and
reads back with Python's csv as the apostrophe plus the text), numbers stay numbers, JSON
cells stay JSON, and the snapshot CSV keeps its bytes for inputs that were safe."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.csv_writer import FORMULA_START, cell_text, csv_document, csv_line, neutralised
from projections.snapshot import Snapshot
from services.reports.snapshot_csv import to_csv

HYPERLINK = '=HYPERLINK("http://x","y")'
#: Each character OWASP lists, and the ones this writer adds (line feed, NUL).
DANGEROUS = [
    HYPERLINK,
    "+SUM(1,2)",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\0=1+1",
    "=cmd|' /C calc'!A0",
]


def read_back(line: str) -> list[str]:
    return next(csv.reader(io.StringIO(line)))


@pytest.mark.parametrize("text", DANGEROUS)
def test_text_a_spreadsheet_would_run_is_prefixed_with_an_apostrophe(text: str) -> None:
    line = csv_line(["safe", text, 1])
    assert read_back(line) == ["safe", "'" + text, "1"]


@pytest.mark.parametrize("text", [" =1+1", "  @SUM(A1)", "\u00a0-1+1", " \t+1"])
def test_leading_blanks_before_a_formula_do_not_hide_it(text: str) -> None:
    assert read_back(csv_line([text])) == ["'" + text]


@pytest.mark.parametrize(
    "text", ["plain", "a=b", "x-1", "e-mail", "'quoted", "1,5", "", " leading space", "|pipe", "%"]
)
def test_ordinary_text_is_written_as_it_is(text: str) -> None:
    assert neutralised(text) == text
    assert read_back(csv_line([text, "end"])) == [text, "end"]


@pytest.mark.parametrize(
    ("number", "text"),
    [(-5, "-5"), (-13.25, "-13.25"), (8.0, "8"), (0, "0"), (2**63 - 1, "9223372036854775807"),
     (1e21, "1e+21"), (-1e-7, "-1e-7")],
)  # fmt: skip
def test_numbers_are_numbers_even_when_negative(number: float, text: str) -> None:
    assert cell_text(number) == text
    assert read_back(csv_line([number])) == [text]


def test_json_cells_none_and_booleans() -> None:
    changes = {"reason": {"before": None, "after": HYPERLINK}, "target": {"after": -10}}
    line = csv_line([changes, ["=x", 1], None, True, False])
    cells = read_back(line)
    assert json.loads(cells[0]) == changes  # JSON text starts with "{": nothing to neutralise
    assert json.loads(cells[1]) == ["=x", 1]
    assert cells[2:] == ["", "true", "false"]


def test_not_a_number_is_text_and_neutralised() -> None:
    assert cell_text(float("-inf")) == "'-inf"
    assert cell_text(float("nan")) == "nan"


@given(st.text())
def test_every_text_reads_back_as_itself_or_neutralised(text: str) -> None:
    out = cell_text(text)
    assert read_back(csv_line([text, "end"])) == [out, "end"]
    if out == text:
        assert not text.startswith(FORMULA_START)
        assert text.lstrip()[:1] not in ("=", "+", "-", "@")
    else:
        assert out == "'" + text


def test_a_document_is_a_header_and_crlf_lines_in_utf8() -> None:
    body = csv_document(("a", "b"), [["é", -1], [HYPERLINK, 2.5]])
    assert body == b'a,b\r\n\xc3\xa9,-1\r\n"\'=HYPERLINK(""http://x"",""y"")",2.5\r\n'


# ---- the snapshot CSV keeps its bytes ------------------------------------------------------


def _snapshot(document: dict[str, Any]) -> Snapshot:
    return Snapshot(UUID(int=1), 1, document, b"", "digest")


def _document(title: str = 'Strengthen our operational infrastructure, "fast"') -> dict[str, Any]:
    return {
        "cycle": {"name": "2026-Q4"},
        "changes_after_lock": [],
        "objectives": [
            {
                "id": "6f1c0c52-5a4e-4c55-9d0e-6b1e7c4f2a10",
                "title": title,
                "owner": "priya",
                "key_results": [
                    {
                        "id": "0b7c5d3e-8f7d-4f53-a3c4-2b8d3c9e1f00",
                        "title": "LP reporting turnaround",
                        "owner": "tom",
                        "unit": "days",
                        "direction": "decrease",
                        "baseline": 15,
                        "target": 8.0,
                        "status": "active",
                        "last_check_in": {
                            "value": -13.25,
                            "confidence": 0.6,
                            "at": "2026-11-02T09:00:00.000000Z",
                        },
                        "score": {"value": 0.4, "rule": "linear", "rule_version": 1},
                    },
                    {
                        "id": "1a2b3c4d-0000-4000-8000-000000000001",
                        "title": "Cost per fund\nreport",
                        "owner": "lena",
                        "unit": "%",
                        "direction": "increase",
                        "baseline": 1e-7,
                        "target": 1e21,
                        "status": "retired",
                        "last_check_in": None,
                        "score": None,
                    },
                ],
            }
        ],
    }


#: What the snapshot CSV was, byte for byte, before it used the shared writer.
BEFORE = (
    b"cycle,objective_id,objective,objective_owner,key_result_id,key_result,owner,unit,"
    b"direction,baseline,target,last_value,confidence,last_check_in_at,score,score_rule,"
    b"status\r\n"
    b'2026-Q4,6f1c0c52-5a4e-4c55-9d0e-6b1e7c4f2a10,"Strengthen our operational '
    b'infrastructure, ""fast""",priya,0b7c5d3e-8f7d-4f53-a3c4-2b8d3c9e1f00,LP reporting '
    b"turnaround,tom,days,decrease,15,8,-13.25,0.6,2026-11-02T09:00:00.000000Z,0.4,linear/1,"
    b"active\r\n"
    b'2026-Q4,6f1c0c52-5a4e-4c55-9d0e-6b1e7c4f2a10,"Strengthen our operational '
    b'infrastructure, ""fast""",priya,1a2b3c4d-0000-4000-8000-000000000001,"Cost per fund\n'
    b'report",lena,%,increase,1e-7,1e+21,,,,,,retired\r\n'
)


#: The columns appended since (names, progress, the measure at lock): the ones before are
#: written as they were, byte for byte.
APPENDED = (
    b",objective_owner_name,owner_name,progress,baseline_at_lock,target_at_lock,"
    b"score_against_target_at_lock",
    b",,,1,,,",  # no names given; -13.25 days is past the target of 8: progress 1
    b",,,,,,",  # never checked in
)


def test_the_snapshot_csv_of_safe_inputs_is_unchanged() -> None:
    lines = BEFORE.split(b"\r\n")[:-1]
    expected = b"".join(line + more + b"\r\n" for line, more in zip(lines, APPENDED, strict=True))
    assert to_csv(_snapshot(_document())) == expected


def test_the_snapshot_csv_neutralises_a_formula_title() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(_snapshot(_document(HYPERLINK))).decode())))
    assert {row["objective"] for row in rows} == {"'" + HYPERLINK}
    assert rows[0]["last_value"] == "-13.25"  # a negative number is not a formula
