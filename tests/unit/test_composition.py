"""One composition root (issue 10, outcome 1), checked on the sources: only the root reads
the configuration, chooses a policy engine or switches between SQLite and PostgreSQL.

* ``Settings(`` is called only in ``services/bootstrap`` and the command line's entry
  (``services/cli/main.py``, once per invocation); every other module is handed settings.
* ``SandboxedEngine`` and ``OpaEngine`` are constructed only in ``services/bootstrap``.
* A backend switch (a test of a value against both eventsourcing.sqlite's and
  eventsourcing.postgres's classes) is written only in ``projections/backends.py``,
  ``services/bootstrap`` and ``infra/``. Modules that implement a view for each backend
  import both, but never decide between them.

Each rule is also run on a made-up module that breaks it, so a checker that stopped
seeing anything would fail here rather than pass quietly."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("events", "policies", "projections", "services", "infra")

READS_SETTINGS = ("services/bootstrap", "services/cli/main.py")
CHOOSES_ENGINE = ("services/bootstrap",)
SWITCHES_BACKEND = ("services/bootstrap", "projections/backends.py", "infra/")
ENGINES = frozenset({"SandboxedEngine", "OpaEngine"})
BACKEND_MODULES = {"eventsourcing.sqlite": "sqlite", "eventsourcing.postgres": "postgres"}


def sources() -> Iterator[tuple[str, ast.Module]]:
    """Every module of the package, by its path from the repository's root."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def calls_of(tree: ast.Module, names: frozenset[str]) -> list[int]:
    """The lines where one of ``names`` is called (``Settings()``, ``config.Settings()``)."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _called_name(node) in names
    ]


def backend_names(tree: ast.Module) -> dict[str, str]:
    """Names imported from eventsourcing.sqlite / eventsourcing.postgres, to their backend."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in BACKEND_MODULES:
            for alias in node.names:
                found[alias.asname or alias.name] = BACKEND_MODULES[node.module]
    return found


def _tested_names(test: ast.AST) -> Iterator[str]:
    """The class names a value is tested against: ``isinstance(x, A)``, ``(A, B)``,
    ``type(x) is A``."""
    if isinstance(test, ast.Call) and _called_name(test) in ("isinstance", "issubclass"):
        classes = test.args[1] if len(test.args) > 1 else None
        items = classes.elts if isinstance(classes, ast.Tuple) else [classes]
        yield from (item.id for item in items if isinstance(item, ast.Name))
    elif isinstance(test, ast.Compare):
        for side in (test.left, *test.comparators):
            if isinstance(side, ast.Name):
                yield side.id


def switches_backend(tree: ast.Module) -> bool:
    """Whether the module tests a value against classes of both backends: it chooses."""
    names = backend_names(tree)
    if set(names.values()) != {"sqlite", "postgres"}:
        return False
    tested = {
        names[name] for node in ast.walk(tree) for name in _tested_names(node) if name in names
    }
    return tested == {"sqlite", "postgres"}


def allowed(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p) for p in prefixes)


def settings_readers(modules: Iterator[tuple[str, ast.Module]]) -> list[str]:
    return [
        f"{path}:{line}"
        for path, tree in modules
        if not allowed(path, READS_SETTINGS)
        for line in calls_of(tree, frozenset({"Settings"}))
    ]


def engine_choosers(modules: Iterator[tuple[str, ast.Module]]) -> list[str]:
    return [
        f"{path}:{line}"
        for path, tree in modules
        if not allowed(path, CHOOSES_ENGINE)
        for line in calls_of(tree, ENGINES)
    ]


def backend_switches(modules: Iterator[tuple[str, ast.Module]]) -> list[str]:
    return [
        path
        for path, tree in modules
        if not allowed(path, SWITCHES_BACKEND) and switches_backend(tree)
    ]


def test_only_the_root_reads_the_settings() -> None:
    assert settings_readers(sources()) == []


def test_the_root_does_read_them() -> None:
    """Not vacuous: the root and the command line's entry are where they are read."""
    readers = {path for path, tree in sources() if calls_of(tree, frozenset({"Settings"}))}
    assert "services/cli/main.py" in readers
    assert any(path.startswith("services/bootstrap") for path in readers)


def test_only_the_root_chooses_a_policy_engine() -> None:
    assert engine_choosers(sources()) == []


def test_only_the_backends_module_switches_between_sqlite_and_postgres() -> None:
    assert backend_switches(sources()) == []


BREAKING = {
    "settings": (
        settings_readers,
        "from infra.config import Settings\n\ndef policy_test():\n    return Settings()\n",
    ),
    "settings, qualified": (
        settings_readers,
        "from infra import config\n\n"
        "def reviews():\n    return config.Settings(log_level='DEBUG')\n",
    ),
    "engine": (
        engine_choosers,
        "from policies.sandboxed import SandboxedEngine\n\nENGINE = SandboxedEngine(2, None)\n",
    ),
    "backend switch": (
        backend_switches,
        "from eventsourcing.postgres import PostgresDatastore\n"
        "from eventsourcing.sqlite import SQLiteDatastore\n\n"
        "def recorder(datastore):\n"
        "    if isinstance(datastore, SQLiteDatastore):\n        return 1\n"
        "    elif isinstance(datastore, PostgresDatastore):\n        return 2\n",
    ),
}


@pytest.mark.parametrize("rule", sorted(BREAKING))
def test_each_rule_catches_a_command_module_that_breaks_it(rule: str) -> None:
    check, source = BREAKING[rule]
    module = [("services/cli/policy.py", ast.parse(source))]
    assert check(iter(module)) != []
    assert check(iter([("services/bootstrap.py", ast.parse(source))])) == []
