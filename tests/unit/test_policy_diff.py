"""The readable diff between two policy versions (``services.reports.policy_diff``): hunks
with three lines of context and line numbers on both sides, data compared key by key, and
the same bytes for the same two versions."""

from __future__ import annotations

import json
from typing import Any

from services.reports.policy_diff import data_diff, module_diff, policy_diff


def version(
    number: int, modules: dict[str, str], data: dict[str, Any], **more: Any
) -> dict[str, Any]:
    return {
        "id": f"id-{number}",
        "number": number,
        "digest": f"d{number}",
        "modules": modules,
        "data": data,
        **more,
    }


TEXT = "\n".join(f"line {n}" for n in range(1, 21))


def test_a_changed_line_has_three_lines_of_context_and_both_line_numbers() -> None:
    after = TEXT.replace("line 10\n", "line ten\nline ten and a half\n")
    diff = module_diff("a.rego", TEXT, after)
    assert (diff["change"], diff["added"], diff["removed"]) == ("changed", 2, 1)
    [hunk] = diff["hunks"]
    assert hunk["header"] == "@@ -7,7 +7,8 @@"
    kinds = [
        (line["kind"], line["old_line"], line["new_line"], line["text"]) for line in hunk["lines"]
    ]
    assert kinds[:3] == [
        ("context", 7, 7, "line 7"),
        ("context", 8, 8, "line 8"),
        ("context", 9, 9, "line 9"),
    ]
    assert kinds[3:6] == [
        ("removed", 10, None, "line 10"),
        ("added", None, 10, "line ten"),
        ("added", None, 11, "line ten and a half"),
    ]
    assert kinds[6:] == [
        ("context", 11, 12, "line 11"),
        ("context", 12, 13, "line 12"),
        ("context", 13, 14, "line 13"),
    ]


def test_changes_far_apart_are_separate_hunks() -> None:
    after = TEXT.replace("line 2\n", "line two\n").replace("line 18\n", "line eighteen\n")
    hunks = module_diff("a.rego", TEXT, after)["hunks"]
    assert [h["header"] for h in hunks] == ["@@ -1,5 +1,5 @@", "@@ -15,6 +15,6 @@"]


def test_added_removed_and_unchanged_modules() -> None:
    assert module_diff("new.rego", None, "a\nb")["change"] == "added"
    assert module_diff("new.rego", None, "a\nb")["hunks"][0]["header"] == "@@ -0,0 +1,2 @@"
    gone = module_diff("old.rego", "a\nb\nc", None)
    assert (gone["change"], gone["removed"], gone["added"]) == ("removed", 3, 0)
    assert module_diff("same.rego", "a", "a") == {
        "name": "same.rego",
        "change": "unchanged",
        "added": 0,
        "removed": 0,
        "hunks": [],
    }


def test_data_is_compared_key_by_key_and_lists_as_a_whole() -> None:
    before = {
        "risk_appetite": {"investment": 4, "market": 3},
        "terms": ["a", "b"],
        "gone": 1,
        "odd key": {"x.y": 1},
    }
    after = {
        "risk_appetite": {"investment": 3, "market": 3},
        "terms": ["a", "c"],
        "new": {"k": True},
        "odd key": {"x.y": 2},
    }
    assert data_diff(before, after) == [
        {"path": "gone", "change": "removed", "before": "1", "after": None},
        {"path": "new", "change": "added", "before": None, "after": '{"k": true}'},
        {"path": '["odd key"]["x.y"]', "change": "changed", "before": "1", "after": "2"},
        {"path": "risk_appetite.investment", "change": "changed", "before": "4", "after": "3"},
        {"path": "terms", "change": "changed", "before": '["a", "b"]', "after": '["a", "c"]'},
    ]
    assert data_diff({"a": 1.0}, {"a": 1.0}) == []


def test_the_diff_of_two_versions_covers_tests_and_is_deterministic() -> None:
    old = version(1, {"b.rego": "x", "a.rego": "y"}, {"k": 1}, tests={"a_test.rego": "t"})
    new = version(2, {"a.rego": "y2", "b.rego": "x"}, {"k": 2})
    diff = policy_diff(old, new)
    assert diff["base"] == {"id": "id-1", "number": 1, "digest": "d1"}
    assert [(m["name"], m["change"]) for m in diff["modules"]] == [
        ("a.rego", "changed"),
        ("a_test.rego", "removed"),
        ("b.rego", "unchanged"),
    ]
    assert diff["identical"] is False
    shuffled = version(2, dict(reversed(list(new["modules"].items()))), {"k": 2})
    assert json.dumps(policy_diff(old, shuffled)).encode() == json.dumps(diff).encode()
    assert policy_diff(old, old)["identical"] is True
