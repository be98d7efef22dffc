"""What one guardrail policy version changes compared with another, as people read it:
per Rego module (policy modules and their tests) a line diff in hunks with three lines of
context and the line numbers on both sides; for the data (``data.json``) one row per key
path whose value was added, removed or changed (``risk_appetite.investment: 4 -> 3``);
and, for the role mapping (``identity``), who gains or loses which role, in words
("okrgov-cro-office now grants risk_officer"), which the key paths say only in JSON.

Deterministic: modules by name, data paths in key order, values as canonical JSON, so the
same two versions always give the same diff (the console's page and ``GET
/v1/policies/{id}/diff`` both show this)."""

import difflib
import json
import re
from collections.abc import Mapping
from typing import Any

#: Lines of unchanged context around each change of a module.
CONTEXT = 3
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def policy_diff(base: Mapping[str, Any], version: Mapping[str, Any]) -> dict[str, Any]:
    """What ``version`` changes compared with ``base`` (two policy documents, as
    ``GovernanceQueries.policy`` gives them: ``modules``, ``tests``, ``data``)."""
    before = {**base.get("tests", {}), **base["modules"]}
    after = {**version.get("tests", {}), **version["modules"]}
    modules = [
        module_diff(name, before.get(name), after.get(name)) for name in sorted({*before, *after})
    ]
    data = data_diff(base.get("data", {}), version.get("data", {}))
    return {
        "identity": identity_diff(base.get("data", {}), version.get("data", {})),
        "base": _side(base),
        "version": _side(version),
        "identical": all(m["change"] == "unchanged" for m in modules) and not data,
        "modules": modules,
        "data": data,
    }


def identity_diff(before: Any, after: Any) -> list[dict[str, Any]]:
    """Who gains and who loses which role, and which claims are read for roles (a mapping
    that does not parse shows as it is in the data diff; proposals are checked)."""
    old, new = _mapping(before), _mapping(after)
    changes: list[dict[str, Any]] = []
    for claim in sorted(set(old[0]) ^ set(new[0])):
        read = claim in new[0]
        changes.append(
            {
                "change": "reads_claim" if read else "no_longer_reads_claim",
                "claim": claim,
                "claim_value": None,
                "role": None,
                "summary": f"the claim {claim} is {'now' if read else 'no longer'} read for roles",
            }
        )
    for value in sorted({*old[1], *new[1]}):
        was, now = set(old[1].get(value, ())), set(new[1].get(value, ()))
        for role in sorted(was ^ now):
            grants = role in now
            changes.append(
                {
                    "change": "grants" if grants else "no_longer_grants",
                    "claim": None,
                    "claim_value": value,
                    "role": role,
                    "summary": f"{value} {'now' if grants else 'no longer'} grants {role}",
                }
            )
    return changes


def _mapping(data: Any) -> tuple[list[str], dict[str, list[str]]]:
    """The claims read and the grants of a version's data, as far as they are readable."""
    identity = data.get("identity") if isinstance(data, dict) else None
    if not isinstance(identity, dict):
        return [], {}
    claims = identity.get("role_claims")
    grants = identity.get("role_grants")
    return (
        [c for c in claims if isinstance(c, str)] if isinstance(claims, list) else [],
        {
            str(value): [r for r in roles if isinstance(r, str)]
            for value, roles in (grants.items() if isinstance(grants, dict) else ())
            if isinstance(roles, list)
        },
    )


def _side(policy: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": str(policy["id"]), "number": policy["number"], "digest": policy["digest"]}


def module_diff(name: str, before: str | None, after: str | None) -> dict[str, Any]:
    """One module: ``added``, ``removed``, ``changed`` (with its hunks) or ``unchanged``."""
    if before == after:
        return {"name": name, "change": "unchanged", "added": 0, "removed": 0, "hunks": []}
    change = "added" if before is None else "removed" if after is None else "changed"
    old, new = (before or "").splitlines(), (after or "").splitlines()
    hunks: list[dict[str, Any]] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for group in matcher.get_grouped_opcodes(CONTEXT):
        lines: list[dict[str, Any]] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [_line("context", old[i], i + 1, j1 + i - i1 + 1) for i in range(i1, i2)]
                continue
            lines += [_line("removed", old[i], i + 1, None) for i in range(i1, i2)]
            lines += [_line("added", new[j], None, j + 1) for j in range(j1, j2)]
        hunks.append({"header": _header(group), "lines": lines})
    counted = [line["kind"] for hunk in hunks for line in hunk["lines"]]
    return {
        "name": name,
        "change": change,
        "added": counted.count("added"),
        "removed": counted.count("removed"),
        "hunks": hunks,
    }


def _line(kind: str, text: str, old: int | None, new: int | None) -> dict[str, Any]:
    return {"kind": kind, "text": text, "old_line": old, "new_line": new}


def _header(group: list[tuple[str, int, int, int, int]]) -> str:
    """The hunk's ``@@ -start,count +start,count @@``, as ``diff -u`` writes it."""
    i1, i2 = group[0][1], group[-1][2]
    j1, j2 = group[0][3], group[-1][4]
    return f"@@ -{_range(i1, i2)} +{_range(j1, j2)} @@"


def _range(start: int, stop: int) -> str:
    length = stop - start
    return f"{start if length == 0 else start + 1},{length}"


def data_diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """Every key path whose value differs, in key order: objects are compared key by
    key; any other value (a number, a string, a list) as a whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[dict[str, Any]] = []
        for key in sorted({*before, *after}):
            where = _path(path, key)
            if key not in before:
                found.append(_entry(where, "added", None, after[key]))
            elif key not in after:
                found.append(_entry(where, "removed", before[key], None))
            else:
                found += data_diff(before[key], after[key], where)
        return found
    if _canonical(before) == _canonical(after):
        return []
    return [_entry(path or "(root)", "changed", before, after)]


def _path(parent: str, key: str) -> str:
    step = key if _PLAIN_KEY.match(key) else json.dumps(key)
    if not parent:
        return step if _PLAIN_KEY.match(key) else f"[{step}]"
    return f"{parent}.{step}" if _PLAIN_KEY.match(key) else f"{parent}[{step}]"


def _entry(path: str, change: str, before: Any, after: Any) -> dict[str, Any]:
    return {
        "path": path,
        "change": change,
        "before": None if change == "added" else _canonical(before),
        "after": None if change == "removed" else _canonical(after),
    }


def _canonical(value: Any) -> str:
    """A value as compact JSON with sorted keys: how the diff shows and compares it."""
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), ensure_ascii=False)
