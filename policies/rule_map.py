"""The rules of a bundle's modules, read from regorus's AST (``Engine.get_ast_as_json``):
where each rule is defined (file, line, byte span), and an order in which to probe them
so that a rule comes after the rules it reads.

Used where a check ran past its time budget: probing each rule by name, helpers before
the rules that use them, finds the rule that is slow on its own (``policies.culprit``).

regorus's AST is JSON: a list of modules, each ``{"source": {"file"}, "ast": {"package",
"imports", "rules"}}``; a rule is ``{"Spec": {"span", "head", "bodies"}}`` (or
``{"Default": ...}``), and an expression node is an object with one key naming its kind
(``Var``, ``RefDot``, ``RefBrack``, ``Call``...). Spans carry the line and the byte
offsets ``start`` / ``end`` of the text they cover.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from policies.engine import reference_text, rule_name

Node = Any


@dataclass(frozen=True)
class Definition:
    """One definition of a rule (``deny`` has many): its module, line and byte span."""

    file: str
    line: int
    start: int
    end: int

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Rule:
    """A rule that can be evaluated by name (not a function): ``data.<package>.<name>``."""

    path: str
    definitions: tuple[Definition, ...]
    reads: frozenset[str]
    """Names the rule's text mentions (variables and fields): what it may depend on."""


def package_of(module: dict[str, Any]) -> str:
    """``okrgov.guardrails`` for ``package okrgov.guardrails``."""
    return reference_text(module["ast"]["package"]["refr"])


def modules_of(ast: list[dict[str, Any]], files: set[str]) -> list[dict[str, Any]]:
    """The modules of these files, in file name order."""
    chosen = [m for m in ast if m["source"]["file"] in files]
    return sorted(chosen, key=lambda m: m["source"]["file"])


def rules(modules: list[dict[str, Any]]) -> list[Rule]:
    """Every rule of these modules that is evaluated by name, in source order; functions
    (which need arguments) are left out."""
    found: dict[str, tuple[list[Definition], set[str]]] = {}
    for module in modules:
        package = package_of(module)
        for entry in module["ast"]["rules"]:
            kind, rule = next(iter(entry.items()))
            if kind == "Spec" and "Func" in rule["head"]:
                continue
            name = rule_name(entry) if kind == "Spec" else _default_name(rule)
            if not name:
                continue
            span = rule["span"]
            definitions, reads = found.setdefault(f"data.{package}.{name}", ([], set()))
            definitions.append(
                Definition(module["source"]["file"], span["line"], span["start"], span["end"])
            )
            reads.update(names_in(rule))
    return [Rule(path, tuple(defs), frozenset(reads)) for path, (defs, reads) in found.items()]


def probe_order(found: list[Rule]) -> list[Rule]:
    """The rules with every rule after those it reads (same package: by name), otherwise
    in source order: a helper that is slow is probed before the rules that call it."""
    by_name: dict[str, list[Rule]] = {}
    for rule in found:
        by_name.setdefault(rule.path.rpartition(".")[2], []).append(rule)
    ordered: list[Rule] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(rule: Rule) -> None:
        if rule.path in placed or rule.path in visiting:
            return  # placed already, or a cycle (Rego refuses recursion; be safe anyway)
        visiting.add(rule.path)
        package = rule.path.rpartition(".")[0]
        for name in sorted(rule.reads):
            for other in by_name.get(name, []):
                if other.path != rule.path and other.path.rpartition(".")[0] == package:
                    place(other)
        visiting.discard(rule.path)
        placed.add(rule.path)
        ordered.append(rule)

    for rule in found:
        place(rule)
    return ordered


def names_in(node: Node) -> Iterator[str]:
    """Every variable name and field name in a node of the AST."""
    if isinstance(node, dict):
        var = node.get("Var")
        if isinstance(var, dict) and isinstance(var.get("value"), str):
            yield var["value"]
        dot = node.get("RefDot")
        if isinstance(dot, dict):
            field = dot.get("field")
            if isinstance(field, list) and len(field) == 2 and isinstance(field[1], str):
                yield field[1]
        for value in node.values():
            yield from names_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from names_in(value)


def blank_out(text: str, spans: list[tuple[int, int]]) -> str:
    """The module text with these byte spans replaced by spaces (line breaks kept), so
    every other line and offset stays where it was."""
    data = bytearray(text.encode("utf-8"))
    for start, end in spans:
        for index in range(start, end):
            if data[index] not in (0x0A, 0x0D):
                data[index] = 0x20
    return data.decode("utf-8")


def _default_name(rule: dict[str, Any]) -> str:
    refr = rule.get("refr")
    return reference_text(refr) if isinstance(refr, dict) else ""
