"""Values the platform prepares in a guardrail input, so that no rule depends on how an
engine handles Unicode or rounds floats (OPA and regorus differ on both).

``words``: the words of a text, one method for every engine. OPA lower-cases ``İ`` to
``i``, regorus to ``i`` plus a combining dot; OPA's ``\\s`` is ASCII white space only,
regorus's all of Unicode's. So the rules match word lists against text prepared here:
compatibility decomposition (NFKD: fullwidth and mathematical letters become ASCII ones,
accented letters a base letter and marks), marks dropped, a few letters that do not
decompose spelled out (``ß`` ss, ``æ`` ae, ``ø`` o, ``ł`` l...), lower case, then every run
of anything but ``a-z`` and ``0-9`` one space, padded with a space at each end:
``"NET İNFLOWS from LPs"`` -> ``" net inflows from lps "``.

``basis_points``: a confidence (0 to 1) in whole basis points, rounded half to even from
its shortest decimal spelling (``0.7`` is 7000, ``0.90005`` is 9000). The sandbagging rule
sums these integers and compares the sum with the threshold times the count: integer
arithmetic, which both engines do exactly, where an average of floats lands on either
side of 0.9 depending on the engine's rounding.

``cycle_summary``: the key results of a cycle at lock summed up per objective (how many,
and their confidences in basis points) and for the whole cycle, in one pass here; the
rules would otherwise scan every key result once per objective on every lock (the most
costly part of a lock's decision). Inputs recorded without it are summed up by the rules.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

# Letters that NFKD leaves whole, spelled in ASCII (lower case: applied after casefold).
_SPELLED = str.maketrans(
    {
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "ı": "i",
        "þ": "th",
        "ħ": "h",
    }
)
_SEPARATORS = re.compile(r"[^a-z0-9]+")

#: The text fields of a key result whose words the rules match.
WORD_FIELDS = ("title", "unit")


def words(text: str) -> str:
    """The padded, folded words of a text (see the module docstring)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = bare.casefold().translate(_SPELLED)
    return f" {_SEPARATORS.sub(' ', folded).strip()} ".replace("  ", " ")


def resource_words(after: object) -> dict[str, str]:
    """``resource.words`` of an input: the words of each text field the rules match."""
    if not isinstance(after, dict):
        return {}
    return {f: words(after[f]) for f in WORD_FIELDS if isinstance(after.get(f), str)}


def locked_key_result(ident: str, objective_id: str, confidence: float | None) -> dict[str, Any]:
    """A key result as the rules see it at lock (``cycle_key_results``): its latest
    confidence (None: never checked in on), also in basis points."""
    return {
        "id": ident,
        "objective_id": objective_id,
        "confidence": confidence,
        "confidence_basis_points": None if confidence is None else basis_points(confidence),
    }


def cycle_summary(key_results: list[dict[str, Any]]) -> dict[str, Any]:
    """``cycle_summary`` of an input from its ``cycle_key_results`` (``locked_key_result``
    shapes): per objective id, ``key_results`` (how many) and ``points`` (the basis points
    of those with a confidence, in their order); ``points``, every one of the cycle."""
    objectives: dict[str, dict[str, Any]] = {}
    points = []
    for key_result in key_results:
        summary = objectives.setdefault(
            key_result["objective_id"], {"key_results": 0, "points": []}
        )
        summary["key_results"] += 1
        found = key_result["confidence_basis_points"]
        if found is not None:
            summary["points"].append(found)
            points.append(found)
    return {"objectives": objectives, "points": points}


def basis_points(confidence: float) -> int:
    """A confidence in whole basis points (see the module docstring)."""
    scaled = Decimal(repr(float(confidence))) * 10000
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
