"""No import circle anywhere in the package (issue 10, outcome 2): between any two of its
modules, imports run one way only. The layer contract (``lint-imports``) keeps layers
apart; this finds a circle inside a layer too (two projections modules, say).

The graph is grimp's (what import-linter reads); the circles are the strongly connected
components of more than one module, or a module that imports itself."""

from collections.abc import Iterable, Mapping

import grimp

PACKAGES = ("events", "policies", "projections", "services", "infra")


def circles(imports: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Every set of modules that import each other in a loop (Tarjan's algorithm)."""
    search = _Components(imports)
    for module in sorted(imports):
        if module not in search.index:
            search.visit(module)
    return search.circles


class _Components:
    """Tarjan's strongly connected components over an import graph."""

    def __init__(self, imports: Mapping[str, Iterable[str]]) -> None:
        self.imports = imports
        self.index: dict[str, int] = {}
        self.low: dict[str, int] = {}
        self.stack: list[str] = []
        self.on_stack: set[str] = set()
        self.circles: list[list[str]] = []

    def visit(self, module: str) -> None:
        self.index[module] = self.low[module] = len(self.index)
        self.stack.append(module)
        self.on_stack.add(module)
        for imported in self.imports.get(module, ()):
            if imported not in self.index:
                self.visit(imported)
                self.low[module] = min(self.low[module], self.low[imported])
            elif imported in self.on_stack:
                self.low[module] = min(self.low[module], self.index[imported])
        if self.low[module] == self.index[module]:
            component = self._pop_component(module)
            if len(component) > 1 or module in self.imports.get(module, ()):
                self.circles.append(sorted(component))

    def _pop_component(self, root: str) -> list[str]:
        """The modules above ``root`` on the stack, ``root`` included: one component."""
        component: list[str] = []
        while not component or component[-1] != root:
            member = self.stack.pop()
            self.on_stack.discard(member)
            component.append(member)
        return component


def package_imports() -> dict[str, set[str]]:
    graph = grimp.build_graph(*PACKAGES)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def test_no_module_of_the_package_is_in_an_import_circle() -> None:
    imports = package_imports()
    assert len(imports) > 100, "the graph read fewer modules than the package has"
    assert circles(imports) == []


def test_a_circle_is_found_however_long() -> None:
    """The finder sees a two-module circle, a longer one, and a module importing itself,
    and nothing in a chain or a diamond."""
    imports = {
        "a": {"b"},
        "b": {"a", "c"},
        "c": {"d"},
        "d": {"e"},
        "e": {"c"},
        "f": {"f"},
        "g": {"h", "i"},
        "h": {"j"},
        "i": {"j"},
    }
    assert sorted(circles(imports)) == [["a", "b"], ["c", "d", "e"], ["f"]]
