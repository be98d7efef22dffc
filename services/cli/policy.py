"""``okrgov policy test``: the checks a proposal passes, run on a bundle directory.

The same runner as ``POST /v1/policies`` (``policies.proposal_checks``): the bundle's own
``*_test.rego`` tests, the shipped invariant tests and the settings its rules read, each
in a worker process under the time budgets of the configuration. One line per check
(``PASS name`` or ``FAIL name: why``), what was checked, then ``N passed, M failed``."""

from pathlib import Path
from typing import Annotated

import typer

from infra.config import Settings
from policies.bundle import SHIPPED_BUNDLE_DIR, load_bundle
from policies.engine import PolicyCompileError, PolicyError
from policies.proposal_checks import INVARIANT, TEST, CheckResult, check_proposal
from services.bootstrap import policy_reviews
from services.cli.context import configured

policy_app = typer.Typer(help="Guardrail policies.", no_args_is_help=True)


def run_policy_checks(settings: Settings, directory: Path) -> None:
    """Print every check's result; exit 1 when one fails (or the bundle has no tests of
    its own), 2 when the bundle cannot be read or compiled."""
    reviews = policy_reviews(settings)
    try:
        bundle = load_bundle(directory)
        results = check_proposal(reviews, bundle)
    except (FileNotFoundError, ValueError, PolicyCompileError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except PolicyError as exc:
        typer.echo(f"error: the checks could not run: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        reviews.close()
    for result in results:
        typer.echo(_line(result))
    failed = sum(not r.passed for r in results)
    typer.echo(f"checked: {_summary(results)}")
    typer.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed or not bundle.tests:
        raise typer.Exit(1)


def _line(result: CheckResult) -> str:
    mark = "PASS" if result.passed else "FAIL"
    line = f"{mark} {result.name}"
    return line if result.passed else f"{line}: {result.message}"


def _summary(results: list[CheckResult]) -> str:
    tests = sum(r.kind == TEST for r in results)
    invariants = sum(r.kind == INVARIANT for r in results)
    others = len(results) - tests - invariants
    return f"{tests} tests of the bundle, {invariants} invariant tests, {others} other checks"


@policy_app.command("test")
def policy_test(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Argument(help="A bundle directory; the shipped bundle by default.")
    ] = SHIPPED_BUNDLE_DIR,
) -> None:
    """Run the checks a proposal passes: every test_ rule of the bundle's *_test.rego
    files (as `opa test` does), the shipped invariant tests and the settings the rules
    read, each under the time budget."""
    run_policy_checks(configured(ctx).settings, directory)
