"""The checks a policy version passes before it can be approved, run at proposal.

In a review worker (``policies.review``), in this order:

1. compile: every module parses, the guardrails package and its ``deny`` rule exist, no
   module takes a package named ``okrgov.invariants...`` (reserved for the shipped
   invariants), regorus's analysis finds no unsafe or conflicting rule, ``deny`` and
   ``warn`` evaluate on an empty input, and every function called exists. A failure
   raises ``PolicyCompileError`` with module and line, as ``compile_bundle`` does.
2. settings: the data has every setting the rules read (``policies.data_reads``), and its
   role mapping (``identity``: which claims grant which okrgov roles) parses
   (``policies.role_grants``): a malformed one would leave nobody signing in with a role.
3. the proposal's own tests (its ``*_test.rego`` modules), each under the decision budget.
4. the shipped invariant tests (``policies/invariants/``) against the proposal's modules
   and data: the promises no version may drop, each under the decision budget.

A step that runs past the decision budget fails naming the rule that is slow on its own
(``policies.culprit``), and the checks stop there: the tests not yet run are reported as
one result. So do the checks when the review budget runs out. Every result is returned;
``PolicyChecksFailed`` carries the failing ones.

Over 300 lines: the steps share one review session and stop one another in the order
above, which reads best in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from policies.bundle import PolicyBundle
from policies.culprit import Culprit, find_culprit
from policies.engine import (
    DENY_RULE,
    GUARDRAILS_PACKAGE,
    WARN_RULE,
    PolicyCompileError,
    PolicyError,
    PolicyTimeout,
    budget_text,
)
from policies.review import PolicyReviews, ReviewSession, ReviewTimeout
from policies.role_grants import InvalidRoleGrants, role_grants
from policies.sandbox import PolicyWorkerFailed, expect
from policies.testing import ERROR, NOT_RUN, OVER_BUDGET, PASSED

#: The shipped invariant tests.
INVARIANTS_DIR = Path(__file__).resolve().parent / "invariants"
#: No proposed module may declare a package whose name starts so (the invariants' own is
#: ``okrgov.invariants_test``): a proposal cannot redefine an invariant test.
RESERVED_PACKAGE = "okrgov.invariants"

#: Kinds of check.
ANALYSIS, SETTING, TEST, INVARIANT = "analysis", "data_setting", "test", "invariant"
MISSING, INVALID = "missing", "invalid"
#: The okrgov roles a role mapping may grant (``services.application.principals.Role``,
#: which this layer may not import; a unit test holds the two equal).
OKRGOV_ROLES = ("admin", "compliance", "executive", "member", "risk_officer")


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome. ``name``: the test's full path, the data path read, or what
    was analysed; ``location``: the test's (or the reading rule's) module and line;
    ``culprit``: for a check past the budget, the rule that is slow on its own."""

    name: str
    kind: str
    passed: bool
    outcome: str
    message: str
    location: str | None = None
    culprit: Culprit | None = None


class PolicyChecksFailed(PolicyError):
    """A proposed version failed its checks; nothing was recorded."""

    def __init__(self, failures: list[CheckResult]) -> None:
        self.failures = failures
        first = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        super().__init__(f"{first.name}: {first.message}{more}")


@cache
def invariant_modules() -> dict[str, str]:
    """The shipped invariant test modules, by file name."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(INVARIANTS_DIR.glob("*.rego"))}


def check_proposal(reviews: PolicyReviews, bundle: PolicyBundle) -> list[CheckResult]:
    """Every check's result (see the module docstring); raises ``PolicyCompileError`` for
    a bundle that does not compile."""
    with reviews.review("checking the proposed policy version") as session:
        return _Checks(session, bundle).run()


def require_passing(results: list[CheckResult]) -> None:
    failures = [r for r in results if not r.passed]
    if failures:
        raise PolicyChecksFailed(failures)


class _Checks:
    def __init__(self, session: ReviewSession, bundle: PolicyBundle) -> None:
        self.session = session
        self.bundle = bundle
        self.results: list[CheckResult] = []

    def run(self) -> list[CheckResult]:
        try:
            if self._compile() and self._settings() and self._tests(TEST, self.bundle.tests):
                self._tests(INVARIANT, invariant_modules())
        except ReviewTimeout as exc:
            self.results.append(
                CheckResult("(the remaining checks)", TEST, False, NOT_RUN, str(exc))
            )
        return self.results

    # -- 1. compile --------------------------------------------------------------------

    def _compile(self) -> bool:
        bundle, start = self.bundle, self.session.budgets.start
        if not bundle.modules:
            raise PolicyCompileError(None, None, "the bundle has no Rego module")
        load = {"op": "load", "slot": "policy", "modules": bundle.modules, "data": bundle.data}
        loaded = expect(self.session.ask(load, "compiling the proposed modules", start), "compile")
        self._refuse_reserved(loaded["packages"])
        if GUARDRAILS_PACKAGE.removeprefix("data.") not in loaded["packages"].values():
            raise PolicyCompileError(
                None,
                None,
                "no module declares `package okrgov.guardrails`: the guardrails are missing",
            )
        if not loaded["deny"]:
            raise PolicyCompileError(
                None, None, "package okrgov.guardrails defines no `deny` rule (`deny contains ...`)"
            )
        entry_points = [DENY_RULE, WARN_RULE] if loaded["warn"] else [DENY_RULE]
        for rule in entry_points:
            if not self._analyse(rule):
                return False
        functions = {
            "op": "functions",
            "modules": bundle.modules,
            "data": bundle.data,
            "entry_points": entry_points,
        }
        expect(self.session.ask(functions, "checking the functions called", start), "compile")
        return True

    def _refuse_reserved(self, packages: dict[str, str]) -> None:
        for file, package in sorted(packages.items()):
            if package.startswith(RESERVED_PACKAGE):
                raise PolicyCompileError(
                    file,
                    None,
                    f"package {package} is reserved for the invariant tests okrgov ships; "
                    "name the package otherwise",
                )

    def _analyse(self, rule: str) -> bool:
        """Evaluate a guardrails rule on an empty input: a runtime error there is a compile
        error (as ``compile_bundle`` reports it); past the budget, a failed check."""
        request = {"op": "query", "slot": "policy", "query": rule, "input": "{}"}
        name = f"{rule} on an empty input"
        try:
            answer = self.session.ask(request, f"evaluating {name}")
        except ReviewTimeout:
            raise
        except PolicyTimeout as exc:
            culprit = find_culprit(self.session, self.bundle, ["{}"], {})
            self.results.append(_over_budget(name, ANALYSIS, None, exc, culprit))
            return False
        except PolicyWorkerFailed as exc:
            self.results.append(_died(name, ANALYSIS, None, exc))
            return False
        if "error" in answer:
            raise PolicyCompileError.from_regorus(str(answer["error"]))
        expect(answer, name)
        self.results.append(CheckResult(name, ANALYSIS, True, PASSED, ""))
        return True

    # -- 2. settings -------------------------------------------------------------------

    def _settings(self) -> bool:
        request = {
            "op": "settings",
            "slot": "policy",
            "files": sorted(self.bundle.modules),
            "data": self.bundle.data,
        }
        lacking = expect(
            self.session.ask(request, "reading the settings the rules read"), "settings"
        )
        for item in lacking:
            self.results.append(
                CheckResult(
                    item["setting"],
                    SETTING,
                    False,
                    MISSING,
                    f"the rules read {item['setting']} ({item['location']}) but the data has "
                    f"no {item['lacking']}: add it to the data",
                    item["location"],
                )
            )
        if not lacking:
            self.results.append(
                CheckResult("the data has every setting the rules read", SETTING, True, PASSED, "")
            )
        self._role_mapping()
        return True

    def _role_mapping(self) -> None:
        """The data's ``identity`` mapping parses, naming the key at fault if not."""
        try:
            role_grants(self.bundle.data, OKRGOV_ROLES)
        except InvalidRoleGrants as exc:
            key, _, rule = str(exc).partition(" ")  # "identity.role_grants['x'] names ..."
            self.results.append(CheckResult(key, SETTING, False, INVALID, rule))
            return
        name = "the role mapping (identity) parses"
        self.results.append(CheckResult(name, SETTING, True, PASSED, ""))

    # -- 3 and 4. tests ----------------------------------------------------------------

    def _tests(self, kind: str, tests: dict[str, str]) -> bool:
        """Run these test modules against the bundle; False when one ran past the budget
        (the checks stop)."""
        if not tests:
            return True
        session, bundle = self.session, self.bundle
        slot = f"{kind}s"
        load = {
            "op": "load",
            "slot": slot,
            "modules": {**bundle.modules, **tests},
            "data": bundle.data,
        }
        loaded = expect(
            session.ask(load, f"compiling the {kind} modules", session.budgets.start), kind
        )
        if kind == TEST:
            self._refuse_reserved({f: p for f, p in loaded["packages"].items() if f in tests})
        listing = {"op": "tests", "slot": slot, "files": sorted(tests)}
        cases = expect(session.ask(listing, f"listing the {kind}s"), kind)
        for index, case in enumerate(cases):
            request = {"op": "test", "slot": slot, **case}
            try:
                answer = session.ask(request, f"running {case['name']}")
            except ReviewTimeout:
                raise
            except PolicyTimeout as exc:
                file = case["location"].rpartition(":")[0]
                culprit = find_culprit(session, bundle, ["{}"], {file: tests[file]})
                self.results.append(
                    _over_budget(case["name"], kind, case["location"], exc, culprit)
                )
                self._not_run(len(cases) - index - 1, kind)
                return False
            except PolicyWorkerFailed as exc:
                self.results.append(_died(case["name"], kind, case["location"], exc))
                self._not_run(len(cases) - index - 1, kind)
                return False
            result = expect(answer, case["name"])
            self.results.append(
                CheckResult(
                    result["name"],
                    kind,
                    result["passed"],
                    result["outcome"],
                    result["message"],
                    result["location"],
                )
            )
        return True

    def _not_run(self, count: int, kind: str) -> None:
        """One result for what the checks skipped after a test past its budget (or whose
        worker died)."""
        skipped = [f"{count} more {kind}(s)"] if count else []
        if kind == TEST:
            skipped.append("the invariant tests")
        if skipped:
            message = (
                " and ".join(skipped) + " were not run: the checks stop at the first test "
                "past its budget or whose worker died"
            )
            self.results.append(
                CheckResult("(the remaining checks)", kind, False, NOT_RUN, message)
            )


def _died(name: str, kind: str, location: str | None, exc: PolicyWorkerFailed) -> CheckResult:
    """A check whose worker died (a crash, or a rule that outgrew the memory limit)."""
    message = f"the policy worker running it died: {exc}"
    return CheckResult(name, kind, False, ERROR, message, location)


def _over_budget(
    name: str, kind: str, location: str | None, exc: PolicyTimeout, culprit: Culprit | None
) -> CheckResult:
    because = (
        f"rule {culprit.rule} ({culprit.location}) takes longer than that on its own"
        if culprit
        else "no single rule of the modules takes that long on its own on the inputs tried"
    )
    return CheckResult(
        name,
        kind,
        False,
        OVER_BUDGET,
        f"ran past the {budget_text(exc.budget)} budget: {because}",
        location,
        culprit,
    )
