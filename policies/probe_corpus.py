"""Probe inputs: guardrail input documents drawn at random, to compare two engines on.

``probe_input(rng, data)`` draws one input of the shape the platform builds
(``services.application.guardrail_input``), aimed at every field the rules read and at
the places where engines have been seen to differ: absent, null and false fields; titles
with dotted and dotless i, accents, fullwidth and mathematical letters, no-break and other
Unicode spaces, tabs, quotes and digits; numbers at and around every threshold of the
bundle's data (each risk appetite, the key result limit, the title word bounds, the
sandbagging line, with confidences chosen to average exactly on it); 0 to 6 key results;
requests by the actor and by others; what the directory says of the people named (job
roles client-facing or not, null or not a string, people left out). ``data`` is the data
document of the bundle under test, so a proposal is probed around its own thresholds.

The words and basis points are prepared by ``policies.input_values``, as the platform
prepares them. Some inputs leave out fields the API always sends: an engine must agree
on those too (a replay judges inputs recorded long ago), and some are shaped as inputs
recorded before the words, basis points and cycle summary were prepared (the rules'
fallbacks).

``probe_corpus(data, size, seed)`` is a reproducible list of them (the divergence check
of a proposal); the engine equivalence tests draw them through hypothesis
(``st.randoms()``), which also shrinks a failing one.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from policies.input_values import cycle_summary, locked_key_result, resource_words

Doc = dict[str, Any]

ACTIONS = (
    "key_result.add", "key_result.revise", "key_result.retire", "key_result.check_in",
    "objective.create", "objective.revise", "objective.reown", "objective.realign",
    "objective.retire", "change_request.request", "change_request.approve",
    "change_request.reject", "cycle.open", "cycle.lock", "cycle.close", "cycle.seal",
)  # fmt: skip
_DEFINITION_ACTIONS = {"key_result.add", "key_result.revise", "change_request.request",
                       "change_request.approve"}  # fmt: skip
_ROLES = ("member", "executive", "risk_officer", "compliance", "admin")
_STATES = ("planning", "locked", "closed", "sealed")
_WORDS = ("client", "retention", "reporting", "LP", "onboarding", "time", "the", "of", "to",
          "quality", "complaints", "memo", "faster", "net", "promoter", "score", "Fund", "II",
          "q4", "2026", "100%", "\"quoted\"", "it's", "a\\b", "—")  # fmt: skip
_SEPARATORS = (" ", " ", " ", "\u00a0", "\t", "\u2009", "\u3000", "-", "  ", "\u200b",
               "\u0085", "\u202f", "/", ", ")  # fmt: skip
_UNITS = ("%", "accounts", "EUR m", "AUM raised (USD m)", "days", "funds per LP", "NPS",
          "ｓａｌｅｓ", "new clients")  # fmt: skip
_NUMBERS = (0, 1, -0.0, 1e-05, 0.1, 0.5, 2.5, 10, 100, 1e15, 123456789.125, -3.0,
            9007199254740993.0, 1e300, 0.30000000000000004)  # fmt: skip
_METRICS = (None, "", "  ", "\u00a0", "complaints", "losses", "breaches")
_MISSING = object()


def probe_corpus(data: Doc, size: int, seed: int = 11) -> list[Doc]:
    """``size`` probe inputs, the same for the same data, size and seed."""
    rng = random.Random(seed)
    return [probe_input(rng, data) for _ in range(size)]


def probe_input(rng: random.Random, data: Doc) -> Doc:
    """One probe input (see the module docstring)."""
    action = rng.choice(ACTIONS)
    kind = _kind(rng, action)
    after = _after(rng, data, action, kind)
    actor = rng.choice(_users(data))
    document: Doc = {
        "action": action,
        "actor": {"id": actor, "roles": sorted(rng.sample(_ROLES, rng.randint(0, 2)))},
        "resource": {
            "kind": kind,
            "id": rng.choice((None, "kr-1", "obj-1", "c-1")),
            "before": None,
            "after": after,
            "words": resource_words(after),
        },
        "objective": _objective(rng, data),
        "siblings": [_sibling(rng, data, i) for i in range(_count(rng, data))],
        "cycle": rng.choice((None, {"id": "c-1", "name": "2026-Q4", "state": rng.choice(_STATES)})),
        "cycle_key_results": _cycle_key_results(rng, data),
        "change_request": _change_request(rng, actor, document_kind=kind),
        "time": "2026-11-22T09:00:00+00:00",
        "people": _people(rng, data),
    }
    if document["cycle_key_results"]:
        document["cycle_summary"] = cycle_summary(document["cycle_key_results"])
    if kind is _MISSING:
        del document["resource"]["kind"]
    if rng.random() < 0.15:  # recorded before the platform prepared words and basis points
        del document["resource"]["words"]
        document.pop("cycle_summary", None)
        for key_result in document["cycle_key_results"]:
            del key_result["confidence_basis_points"]
    if rng.random() < 0.05:
        document.pop(rng.choice(sorted(document)))
    return document


def _kind(rng: random.Random, action: str) -> Any:
    prefix = action.split(".", 1)[0]
    if prefix == "change_request":
        return rng.choice(("key_result", "objective", "cycle", _MISSING))
    return prefix if rng.random() < 0.9 else rng.choice(("key_result", "objective"))


def _after(rng: random.Random, data: Doc, action: str, kind: Any) -> Doc | None:
    if kind == "objective" or action.startswith("objective."):
        return {"title": _title(rng, data, objective=True), "owner": rng.choice(_users(data))}
    if action in _DEFINITION_ACTIONS or rng.random() < 0.1:
        return _definition(rng, data)
    return None


def _definition(rng: random.Random, data: Doc) -> Doc:
    baseline = rng.choice(_NUMBERS)
    definition: Doc = {
        "title": _title(rng, data).strip(),
        "owner": rng.choice(_users(data)),
        "unit": rng.choice(_UNITS),
        "baseline": baseline,
        "target": baseline if rng.random() < 0.15 else rng.choice(_NUMBERS),
        "direction": rng.choice(("increase", "decrease", "milestone", "increase", "sideways")),
        "pay_linked": rng.choice((False, False, True, None, 0)),
        "risk_domain": rng.choice((*_keys(_mapping(data, "risk_appetite")), "unknown", None)),
        "risk_rating": _rating(rng, data),
        "guardrail_metric": rng.choice(_METRICS),
    }
    for name in rng.sample(sorted(definition), rng.choice((0, 0, 0, 1, 2))):
        del definition[name]
    return definition


def _rating(rng: random.Random, data: Doc) -> Any:
    appetites = [v for v in _mapping(data, "risk_appetite").values() if isinstance(v, int | float)]
    around = [a + d for a in appetites for d in (-1, 0, 1)]
    return rng.choice((None, 1, 5, 3.5, 0, 6, *around))


def _title(rng: random.Random, data: Doc, objective: bool = False) -> str:
    """Words from the rules' own lists and plain ones, some in Unicode disguise, joined by
    assorted separators; objective titles around the word-count bounds."""
    lists = _mapping(data, "activity_words")
    pool = [*_WORDS, *_texts(data.get("sales_volume_terms")), *_texts(lists.get("first")),
            *_texts(lists.get("anywhere"))]  # fmt: skip
    bounds = _mapping(_mapping(data, "limits"), "objective_title_words")
    ends = (_whole(bounds.get("min"), 4), _whole(bounds.get("max"), 18))
    edges = [b + d for b in ends for d in (-1, 0, 1)]
    size = rng.choice(edges) if objective and rng.random() < 0.6 else rng.randint(1, 8)
    words = [_disguised(rng, str(rng.choice(pool))) for _ in range(max(size, 1))]
    text = words[0]
    for word in words[1:]:
        text += rng.choice(_SEPARATORS) + word
    return text


def _disguised(rng: random.Random, word: str) -> str:
    roll = rng.random()
    if roll < 0.5:
        return word
    if roll < 0.65:
        return word.upper().replace("I", "\u0130")
    if roll < 0.75:
        return word.replace("i", "\u0131")
    if roll < 0.85:
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)
    if roll < 0.92:
        return word.replace("e", "é").replace("a", "a\u0301")
    return word.title()


def _users(data: Doc) -> list[str]:
    # A version written before job roles came from the directory names people in its data.
    return sorted({*_keys(_mapping(data, "job_roles")), *_PEOPLE, "nina", "zoe"})


_PEOPLE = ("tom", "sofia", "elena", "dmitri")
_JOB_ROLES = ("portfolio_manager", "operations", "", None, 7, "Investor_Relations")


def _people(rng: random.Random, data: Doc) -> Doc:
    """What the directory says of some of the users: a client-facing job role, another
    one, none; the rest unknown to it (absent). "nina" and "zoe" are never in it."""
    roles = [*_texts(data.get("client_facing_roles")), "investor_relations", *_JOB_ROLES]
    found: Doc = {}
    for user in _PEOPLE:
        if rng.random() < 0.8:
            found[user] = {"job_role": rng.choice(roles), "active": rng.random() < 0.9}
    if rng.random() < 0.05:  # not as the platform writes it: the rules must not fail
        found[rng.choice(_PEOPLE)] = rng.choice((None, "investor_relations", []))
    return found


def _count(rng: random.Random, data: Doc) -> int:
    limit = _mapping(data, "limits").get("max_key_results_per_objective", 5)
    limit = limit if isinstance(limit, int) else 5
    return rng.choice((0, 0, 1, 2, max(limit - 1, 0), limit, 6))


def _objective(rng: random.Random, data: Doc) -> Doc | None:
    if rng.random() < 0.2:
        return None
    title = _title(rng, data, objective=True)
    return {"id": "obj-1", "title": title, "owner": rng.choice(_users(data)),
            "level": "team", "commitment": "committed"}  # fmt: skip


def _sibling(rng: random.Random, data: Doc, index: int) -> Doc:
    return {"id": f"kr-s{index}", "objective_id": "obj-1", **_definition(rng, data),
            "status": "active", "confidence": None, "value": None}  # fmt: skip


def _cycle_key_results(rng: random.Random, data: Doc) -> list[Doc]:
    """0 to 6 key results over up to three objectives, with confidences on, just above
    and just below the sandbagging line, or averaging exactly on it."""
    line = _mapping(data, "limits").get("sandbagging_confidence", 0.9)
    line = line if isinstance(line, int | float) else 0.9
    found = []
    for index in range(rng.randint(0, 6)):
        near = (line, line + 0.0001, line - 0.0001, line + 1e-9, round(rng.random(), 4))
        confidence = rng.choice((None, 1.0, 0.7, 0.5, 0.0, 0.95, 0.85, *near))
        found.append((f"obj-{rng.randint(1, 3)}", index, confidence))
    if found and rng.random() < 0.3:  # make one objective average exactly on the line
        objective = found[0][0]
        mine = [f for f in found if f[0] == objective]
        rest = sum(Decimal(repr(c or 0.0)) for _, _, c in mine[:-1])
        last = Decimal(repr(float(line))) * len(mine) - rest
        if 0 <= last <= 1:
            found[found.index(mine[-1])] = (objective, mine[-1][1], float(last))
    return [locked_key_result(f"kr-{i}", objective, _clipped(c)) for objective, i, c in found]


def _change_request(rng: random.Random, actor: str, document_kind: Any) -> Doc | None:
    if rng.random() < 0.4:
        return None
    kind = rng.choice(("revise", "retire", "add_key_result", "add_objective"))
    target_kind = document_kind if isinstance(document_kind, str) else "key_result"
    return {
        "id": "cr-1",
        "kind": kind,
        "target": {"kind": target_kind, "id": rng.choice(("kr-1", "obj-1", "c-1"))},
        "key_result_id": rng.choice((None, "kr-1")),
        "objective_id": rng.choice((None, "obj-1")),
        "requester": actor if rng.random() < 0.4 else "nina",
        "status": rng.choice(("pending", "approved", "approved", "rejected")),
        "changes": {},
        "retire": kind == "retire",
    }


# A proposal's data may be shaped otherwise than the shipped one's (the rules decide what
# they read): the corpus takes what it can use and draws the rest from its own pools.
def _mapping(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _keys(mapping: dict[str, Any]) -> list[str]:
    return sorted(k for k in mapping if isinstance(k, str))


def _texts(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _whole(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _clipped(confidence: float | None) -> float | None:
    return None if confidence is None else min(max(confidence, 0.0), 1.0)
