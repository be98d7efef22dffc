"""The one CSV writer of okrgov: every CSV the platform writes (the audit trail, snapshots,
anything later) is made of these lines, so no export can carry a spreadsheet formula.

Cells are typed. A number (``int`` or ``float``, never ``bool``) is written as a number:
``-5`` is a negative number to a spreadsheet, not a formula. Everything else is text, and
text that a spreadsheet would run as a formula is neutralised as OWASP's CSV-injection
guidance says, by prefixing an apostrophe, which spreadsheets show as text and hide:

* text starting with ``=``, ``+``, ``-`` or ``@`` (a formula), or with a tab, carriage
  return, line feed or NUL (OWASP and ASVS 5 list tab, CR and NUL; a leading line feed is
  treated alike);
* text whose first non-blank character is one of ``=+-@`` (`` =1+1``): some spreadsheets
  trim leading blanks when they import, and then the formula runs.

Quoting follows RFC 4180 (Python's ``csv`` writer, minimal quoting, CRLF line ends), so a
cell holding a comma, a quote or a line break reads back as one cell, and a neutralised
cell reads back as the apostrophe followed by the text as it was.

Not covered, on purpose: a ``;`` or tab inside text followed by a formula character starts
a new cell only for a reader that ignores this file's comma separator and its quotes; the
text is not rewritten for such readers. ``|`` and ``%`` start a formula in no current
spreadsheet on their own (a DDE payload needs one of ``=+-@`` first)."""

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import rfc8785

Cell = str | int | float | bool | Mapping[str, Any] | Sequence[Any] | None
"""Text, a number, a JSON value (written as compact JSON text), or nothing (empty)."""

#: A cell starting with one of these is run (or could be run) by a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
#: ... and so is one whose first non-blank character is one of these.
_FORMULA_SIGNS = ("=", "+", "-", "@")
NEUTRALISER = "'"


def neutralised(text: str) -> str:
    """``text`` as a spreadsheet shows it without running it."""
    if text.startswith(FORMULA_START) or text.lstrip().startswith(_FORMULA_SIGNS):
        return NEUTRALISER + text
    return text


def cell_text(value: Cell) -> str:
    """One cell as it is written: numbers as numbers, text neutralised, JSON values as
    compact JSON (neutralised like any text), ``None`` as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # The shortest text that reads back as the same number (ECMAScript's, as in the
        # canonical JSON of a snapshot: 8.0 is "8"). Not a number or infinite: text.
        return rfc8785.dumps(value).decode() if math.isfinite(value) else neutralised(str(value))
    if isinstance(value, str):
        return neutralised(value)
    return neutralised(json.dumps(value, separators=(",", ":")))


def csv_line(cells: Iterable[Cell]) -> str:
    """One CSV line (CRLF-terminated) of the given cells."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([cell_text(c) for c in cells])
    return out.getvalue()


def csv_lines(header: Sequence[str], rows: Iterable[Iterable[Cell]]) -> Iterator[str]:
    """The header line, then one line per row, produced as they are read."""
    yield csv_line(header)
    for row in rows:
        yield csv_line(row)


def csv_document(header: Sequence[str], rows: Iterable[Iterable[Cell]]) -> bytes:
    """A whole CSV file in UTF-8."""
    return "".join(csv_lines(header, rows)).encode("utf-8")
