"""Which data paths the rules read, found in regorus's AST, and which the data lacks."""

from __future__ import annotations

import json

from policy_bundles import GUARDRAILS, SHIPPED

from policies.data_reads import data_reads, missing
from policies.engine import new_engine
from policies.rule_map import modules_of

EXTRA = """package okrgov.extra

import data.limits as L
import data.okrgov.guardrails
import rego.v1

words := L.objective_title_words.max if guardrails.deny

domain_limit := data.appetite_by_desk[input.desk].ceiling

spelled := data["quoted"].key

every_reader if data.okrgov.guardrails.catalogue
"""


def reads(modules: dict[str, str]) -> dict[str, str]:
    engine = new_engine(modules, {})
    ast = json.loads(engine.get_ast_as_json())
    return {r.name: r.location for r in data_reads(modules_of(ast, set(modules)))}


def test_every_setting_the_shipped_rules_read_is_found_with_its_first_place() -> None:
    found = reads(SHIPPED.modules)
    assert set(found) == {
        "data.limits",
        "data.risk_appetite",
        "data.change_approval.approver_roles",
        "data.client_facing_roles",
        "data.sales_volume_terms",
        "data.activity_words.first",
        "data.activity_words.anywhere",
        "data.regulated_domains",
    }
    text = SHIPPED.modules[GUARDRAILS].splitlines()
    for name, location in found.items():
        file, _, line = location.partition(":")
        assert file == GUARDRAILS
        assert name.removeprefix("data.").split(".")[0] in text[int(line) - 1], name


def test_imports_computed_indexes_and_rules_are_read_as_they_resolve() -> None:
    found = reads({**SHIPPED.modules, "extra.rego": EXTRA})
    assert found["data.limits"] == "extra.rego:3"  # the import reads it first
    assert found["data.limits.objective_title_words.max"] == "extra.rego:7"  # through L
    assert found["data.appetite_by_desk"] == "extra.rego:9"  # up to the computed index
    assert found["data.quoted.key"] == "extra.rego:11"
    assert not any(name.startswith("data.okrgov") for name in found)  # rules, not data


def test_missing_names_the_first_part_the_data_lacks() -> None:
    modules = {**SHIPPED.modules, "extra.rego": EXTRA}
    ast = json.loads(new_engine(modules, {}).get_ast_as_json())
    found = data_reads(modules_of(ast, set(modules)))
    data = {**SHIPPED.data, "limits": {"objective_title_words": {"min": 4}}, "quoted": []}
    assert sorted((r.name, lacking) for r, lacking in missing(found, data)) == [
        ("data.appetite_by_desk", "data.appetite_by_desk"),
        ("data.limits.objective_title_words.max", "data.limits.objective_title_words.max"),
        ("data.quoted.key", "data.quoted.key"),
    ]
    shipped = data_reads(modules_of(ast, set(SHIPPED.modules)))
    assert missing(shipped, SHIPPED.data) == []
