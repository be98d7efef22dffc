"""What the console shows of audit entries and compliance rows beside their ids: the
titles of the cycles, objectives and key results they name (from the OKR state), and
values of any size as a line of JSON a person can read."""

import json
from collections.abc import Iterable
from typing import Any

from projections.documents import DocumentView
from projections.okr_state import CYCLE, KEY_RESULT, OBJECTIVE

#: Aggregate types and target kinds, as the OKR state names its documents.
_KINDS = {
    "Cycle": CYCLE,
    "Objective": OBJECTIVE,
    "KeyResult": KEY_RESULT,
    CYCLE: CYCLE,
    OBJECTIVE: OBJECTIVE,
    KEY_RESULT: KEY_RESULT,
}
#: Characters of a value shown in a table cell (the export holds all of it).
SHOWN = 240


def shown(value: Any, limit: int = SHOWN) -> str:
    """``value`` as compact JSON (text as it is), cut to ``limit`` characters with "…"."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def titles(
    okr_state: DocumentView, named: Iterable[tuple[str | None, str | None]]
) -> dict[str, str]:
    """The title (a cycle's name) of each (kind, id) that is a cycle, objective or key
    result the OKR state knows, by id."""
    found: dict[str, str] = {}
    for kind, ident in named:
        document_kind = _KINDS.get(kind or "")
        if document_kind is None or not ident or ident in found:
            continue
        doc = okr_state.get(document_kind, ident)
        if doc is not None:
            found[ident] = str(doc.get("title") or doc.get("name") or "")
    return found
