""" "The data has every setting the rules read": found statically, from regorus's AST.

Every reference of a policy module that starts at ``data`` (directly, or through an
import such as ``import data.limits as L``) is read up to its first part that is not a
constant name: ``data.risk_appetite[kr.risk_domain]`` reads ``risk_appetite``,
``data.limits.objective_title_words.min`` reads that whole path. A reference into a
package (``data.okrgov.guardrails.deny``) reads a rule, not data, and is left out. Each
path read must exist in the bundle's data document, object by object; a bundle sent with
modules and no data fails here, naming the first place each missing setting is read.

A rule that reads data through a value (``limits := data.limits`` then ``limits.max``)
is checked up to ``data.limits`` here; the invariant tests read the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from policies.rule_map import Node, package_of


@dataclass(frozen=True)
class DataRead:
    """A data path a module reads (``("limits", "max_key_results_per_objective")``), and
    where it is first read."""

    path: tuple[str, ...]
    file: str
    line: int

    @property
    def name(self) -> str:
        return ".".join(("data", *self.path))

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"


def data_reads(modules: list[dict[str, Any]]) -> list[DataRead]:
    """Every data path these modules read, once each (its first place), in file and
    source order; paths into a package of these modules are rules and are left out."""
    packages = [tuple(package_of(m).split(".")) for m in modules]
    seen: dict[tuple[str, ...], DataRead] = {}
    for module in modules:
        file = module["source"]["file"]
        aliases = _imported_data(module)
        for imported in aliases.values():
            _keep(seen, packages, DataRead(imported[1], file, imported[0]))
        for path, line in _reads(module["ast"]["rules"], aliases):
            _keep(seen, packages, DataRead(path, file, line))
    return list(seen.values())


def missing(reads: list[DataRead], data: Any) -> list[tuple[DataRead, str]]:
    """The reads the data document does not have, each with the first part it lacks."""
    found = []
    for read in reads:
        node = data
        for depth, part in enumerate(read.path):
            if not isinstance(node, dict) or part not in node:
                found.append((read, ".".join(("data", *read.path[: depth + 1]))))
                break
            node = node[part]
    return found


def _keep(
    seen: dict[tuple[str, ...], DataRead], packages: list[tuple[str, ...]], read: DataRead
) -> None:
    if not read.path or read.path in seen:
        return
    for package in packages:
        shorter = min(len(package), len(read.path))
        if read.path[:shorter] == package[:shorter]:
            return  # a rule of a package, or a prefix of one: a virtual document
    seen[read.path] = read


def _imported_data(module: dict[str, Any]) -> dict[str, tuple[int, tuple[str, ...]]]:
    """alias -> (line, data path) for ``import data.x.y [as z]``."""
    aliases = {}
    for entry in module["ast"].get("imports", []):
        parts = _static_parts(entry["refr"])
        if parts is None or not parts[1] or parts[0] != "data":
            continue
        path = parts[1]
        alias = entry.get("as")
        name = _alias_text(module, alias) if alias else path[-1]
        aliases[name] = (entry["span"]["line"], path)
    return aliases


def _alias_text(module: dict[str, Any], span: dict[str, Any]) -> str:
    source = module["source"]["contents"].encode("utf-8")
    return str(source[span["start"] : span["end"]].decode("utf-8"))


def _reads(
    node: Node, aliases: dict[str, tuple[int, tuple[str, ...]]]
) -> Iterator[tuple[tuple[str, ...], int]]:
    """(data path, line) of every reference rooted at ``data`` or at an imported alias."""
    if isinstance(node, list):
        for item in node:
            yield from _reads(item, aliases)
        return
    if not isinstance(node, dict):
        return
    if "RefDot" in node or "RefBrack" in node:
        yield from _reference_reads(node, aliases)
        return
    if "Var" in node and isinstance(node["Var"], dict):
        var = node["Var"]
        if var.get("value") == "data":
            yield (), var["span"]["line"]
        return
    for value in node.values():
        yield from _reads(value, aliases)


def _reference_reads(
    node: Node, aliases: dict[str, tuple[int, tuple[str, ...]]]
) -> Iterator[tuple[tuple[str, ...], int]]:
    """What one reference reads: its own path when rooted at ``data`` or an alias; the parts
    of the chain are not references of their own, but its indexes may be."""
    chain = _chain(node)
    if chain is not None:
        root, path, line = chain
        if root == "data":
            yield path, line
        elif root in aliases:
            yield aliases[root][1] + path, line
    for index in _indexes(node):
        yield from _reads(index, aliases)


def _chain(node: Node) -> tuple[str, tuple[str, ...], int] | None:
    """(root variable, constant parts up to the first that is not, line) of a reference."""
    parts: list[str] = []
    line = 0
    current = node
    while True:
        if "RefDot" in current:
            inner = current["RefDot"]
            parts.append(inner["field"][1])
        elif "RefBrack" in current:
            inner = current["RefBrack"]
            index = inner["index"]
            if "String" in index:
                parts.append(index["String"]["value"])
            else:
                parts.clear()  # a computed index: only what comes before it is constant
        elif "Var" in current:
            var = current["Var"]
            line = var["span"]["line"]
            return str(var["value"]), tuple(reversed(parts)), line
        else:
            return None
        # Parts are collected from the outside in; a computed index drops what follows it.
        current = inner["refr"]


def _static_parts(node: Node) -> tuple[str, tuple[str, ...]] | None:
    chain = _chain(node)
    return (chain[0], chain[1]) if chain else None


def _indexes(node: Node) -> Iterator[Node]:
    current = node
    while isinstance(current, dict):
        if "RefDot" in current:
            current = current["RefDot"]["refr"]
        elif "RefBrack" in current:
            yield current["RefBrack"]["index"]
            current = current["RefBrack"]["refr"]
        else:
            if "Var" not in current:
                yield current  # a reference into a call's result, an array, ...
            return
