"""``okrgov policy test``: the checks a proposal passes, run on a bundle directory, under
the embedded engine, OPA's, or both (the default: a version must mean the same
under both, and a test may pass under one and fail under the other).

``embedded``: the same runner as ``POST /v1/policies`` (``policies.proposal_checks``): the
compile checks, the settings the rules read, the bundle's own ``*_test.rego`` tests and
the shipped invariant tests, each in a worker process under the time budgets of the
configuration. ``opa``: the bundle's tests and the invariant tests again, evaluated by
OPA's own Go evaluator in this process (``policies.testing.run_opa_tests``), with no time
budget; a module OPA's compiler refuses is a failed check under ``opa``. The embedded
checks run first, so the Go runtime is loaded only once their workers' fork server runs.

Progress goes to stderr. On stdout, one line per check: ``PASS name`` when it passes under
every engine that ran it, else ``FAIL name under <engine>: why`` for each engine it fails
under; then each engine's counts (``opa: unavailable (why)`` when OPA's evaluator is not
installed), what was checked, and ``N passed, M failed`` (a check passes when it passes
under every engine). Exit 1 when a check fails under any engine, when an engine asked for
is unavailable, or when the bundle has no tests of its own; 2 when the bundle cannot be
read or compiled by the embedded checks."""

from pathlib import Path
from typing import Annotated

import typer

from infra.config import Settings
from policies import opa_golib
from policies.bundle import SHIPPED_BUNDLE_DIR, PolicyBundle, load_bundle
from policies.engine import PolicyCompileError, PolicyError
from policies.engines import ENGINE_NAMES
from policies.proposal_checks import (
    ANALYSIS,
    INVARIANT,
    TEST,
    CheckResult,
    check_proposal,
    invariant_modules,
)
from policies.testing import ERROR, run_opa_tests
from services.bootstrap import policy_reviews
from services.cli.context import configured
from services.cli.options import EngineChoice

policy_app = typer.Typer(
    help="Guardrail policies: run a bundle's tests under each engine.", no_args_is_help=True
)

#: What each engine is, for the progress lines.
_ENGINE_TEXT = {
    "embedded": "regorus, in worker processes under the time budgets",
    "opa": "OPA's Go evaluator, in this process",
}

#: A check's results by engine, by (kind, name), in the order the checks ran.
Results = dict[tuple[str, str], dict[str, CheckResult]]


def run_policy_checks(
    settings: Settings, directory: Path, engines: tuple[str, ...] = ENGINE_NAMES
) -> None:
    """Print every check's result under each engine; exit 1 when one fails under any
    engine (or an engine is unavailable, or the bundle has no tests of its own), 2 when
    the bundle cannot be read or compiled."""
    try:
        bundle = load_bundle(directory)
    except (FileNotFoundError, ValueError, PolicyCompileError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    results: Results = {}
    unavailable: dict[str, str] = {}
    for engine in engines:
        typer.echo(f"running the checks under {engine} ({_ENGINE_TEXT[engine]})", err=True)
        if engine == "opa" and not opa_golib.available():
            unavailable[engine] = opa_golib.INSTALL_HINT
            continue
        found = _embedded_checks(settings, bundle) if engine == "embedded" else _opa_checks(bundle)
        for result in found:
            results.setdefault((result.kind, result.name), {})[engine] = result
    for line in _lines(results):
        typer.echo(line)
    for line in _engine_counts(results, engines, unavailable):
        typer.echo(line)
    failed = sum(not _passed(by_engine) for by_engine in results.values())
    typer.echo(f"checked: {_summary(results)}")
    typer.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed or unavailable or not bundle.tests:
        raise typer.Exit(1)


def _embedded_checks(settings: Settings, bundle: PolicyBundle) -> list[CheckResult]:
    reviews = policy_reviews(settings)
    try:
        return check_proposal(reviews, bundle)
    except PolicyCompileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except PolicyError as exc:
        typer.echo(f"error: the checks could not run: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        reviews.close()


def _opa_checks(bundle: PolicyBundle) -> list[CheckResult]:
    """The bundle's tests, then the invariant tests, under OPA's Go evaluator."""
    results: list[CheckResult] = []
    for kind, tests, what in (
        (TEST, bundle.tests, "the bundle with its tests"),
        (INVARIANT, invariant_modules(), "the bundle with the invariant tests"),
    ):
        if not tests:
            continue
        try:
            found = run_opa_tests(bundle.modules, tests, bundle.data)
        except PolicyCompileError as exc:
            results.append(CheckResult(f"compiling {what}", ANALYSIS, False, ERROR, str(exc)))
            continue
        results.extend(
            CheckResult(r.name, kind, r.passed, r.outcome, r.message, r.location) for r in found
        )
    return results


def _passed(by_engine: dict[str, CheckResult]) -> bool:
    return all(result.passed for result in by_engine.values())


def _lines(results: Results) -> list[str]:
    lines = []
    for (_, name), by_engine in results.items():
        if _passed(by_engine):
            lines.append(f"PASS {name}")
        lines.extend(
            f"FAIL {name} under {engine}: {result.message}"
            for engine, result in by_engine.items()
            if not result.passed
        )
    return lines


def _engine_counts(
    results: Results, engines: tuple[str, ...], unavailable: dict[str, str]
) -> list[str]:
    lines = []
    for engine in engines:
        if engine in unavailable:
            lines.append(f"{engine}: unavailable ({unavailable[engine]})")
            continue
        ran = [by_engine[engine] for by_engine in results.values() if engine in by_engine]
        failed = sum(not result.passed for result in ran)
        lines.append(f"{engine}: {len(ran) - failed} passed, {failed} failed")
    return lines


def _summary(results: Results) -> str:
    kinds = [kind for kind, _ in results]
    tests, invariants = kinds.count(TEST), kinds.count(INVARIANT)
    others = len(kinds) - tests - invariants
    return f"{tests} tests of the bundle, {invariants} invariant tests, {others} other checks"


@policy_app.command("test")
def policy_test(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Argument(help="A bundle directory; the shipped bundle by default.")
    ] = SHIPPED_BUNDLE_DIR,
    engine: Annotated[
        EngineChoice, typer.Option(help="Run the checks under embedded, opa, or both.")
    ] = EngineChoice.BOTH,
) -> None:
    """Run the checks a policy proposal must pass, under each engine.

    Every `test_` rule of the bundle's `*_test.rego` files (as `opa test` does) and the
    shipped invariant tests, under each engine, and under the embedded engine the settings
    the rules read, each under the time budget."""
    run_policy_checks(configured(ctx).settings, directory, engine.engines)
