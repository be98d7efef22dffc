"""The shipped bundle decides the same under OPA's own Go evaluator and under regorus.

A decision is evidence: it must not depend on the engine that reached it. The corpus is
drawn by ``policies.probe_corpus`` through hypothesis (seeded: the same inputs on every
run, shrunk to a small one when they differ), at least 2,000 inputs per run, and the
whole verdicts are compared: deny and warn sets, messages included.

The corpus is only worth its size if it finds the divergences it is meant to, so the
same draw is also run against small bundles written the way the shipped one used to be
(``lower`` of non-ASCII text, ``\\s`` in a regex, an average of floats against a
threshold, ``not f(x)`` over an absent field, ``%v`` of a float): each must diverge.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.bundle import PolicyBundle, load_shipped_bundle
from policies.embedded import EmbeddedEngine
from policies.opa_golib import OpaGoEngine
from policies.probe_corpus import probe_corpus, probe_input

SHIPPED = load_shipped_bundle()
EMBEDDED = EmbeddedEngine(SHIPPED)
OPA = OpaGoEngine(SHIPPED)
EXAMPLES = 2000


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.randoms(use_true_random=False))
def test_the_shipped_bundle_decides_the_same_under_opa_and_regorus(rng: random.Random) -> None:
    document = probe_input(rng, SHIPPED.data)
    assert OPA.evaluate(document) == EMBEDDED.evaluate(document), document


def test_the_embedded_engine_judges_the_corpus_on_its_compiled_program() -> None:
    """The comparison above is of OPA with the program (policies.compiled), as decided."""
    assert EMBEDDED.compiled


def test_the_corpus_reaches_every_rule_of_the_bundle() -> None:
    """A corpus that never fires a rule cannot show that the engines agree on it."""
    fired: set[str] = set()
    for document in probe_corpus(SHIPPED.data, EXAMPLES):
        verdict = EMBEDDED.evaluate(document)
        fired |= {v.rule for v in verdict.deny + verdict.warn}
    assert fired == set(CATALOGUE)


# Rules written the way the shipped bundle's were before they were made engine-proof:
# each depends on a quirk on which OPA and regorus differ.
QUIRKS = {
    "lower_of_non_ascii": "regex.match(`^[a-z ]+$`, lower(input.resource.after.title))",
    "unicode_space_as_backslash_s": (
        "regex.match(`\\s`, regex.replace(input.resource.after.title, `[ \\t\\n]`, ``))"
    ),
    "float_average_on_the_line": (
        "confidences := [c | some kr in input.cycle_key_results; c := kr.confidence; is_number(c)]"
        "\n\tcount(confidences) > 0\n\tsum(confidences) / count(confidences) > 0.9"
    ),
    "negated_call_on_an_absent_field": (
        'input.action == "key_result.add"\n\tnot is_string(input.resource.after.guardrail_metric)'
    ),
    "float_in_a_message": 'msg := sprintf("%v", [input.resource.after.target])',
}


@pytest.mark.parametrize("quirk", sorted(QUIRKS))
def test_the_corpus_finds_a_rule_that_depends_on_an_engine_quirk(quirk: str) -> None:
    module = (
        "package okrgov.guardrails\nimport rego.v1\n"
        f'deny contains {{"rule": "quirk", "message": msg}} if {{\n\t{QUIRKS[quirk]}\n'
        '\tmsg := object.get({}, "x", "same")\n}\n'
    )
    if "msg :=" in QUIRKS[quirk]:
        module = module.replace('\tmsg := object.get({}, "x", "same")\n', "")
    bundle = PolicyBundle(modules={"quirk.rego": module}, data=SHIPPED.data)
    embedded, opa = EmbeddedEngine(bundle), OpaGoEngine(bundle)
    try:
        differing = [
            d
            for d in probe_corpus(SHIPPED.data, EXAMPLES)
            if embedded.evaluate(d) != opa.evaluate(d)
        ]
    finally:
        opa.close()
    assert differing, f"the corpus never showed the {quirk} divergence"


CATALOGUE = OPA.query("c := data.okrgov.guardrails.catalogue")[0]["c"]


GO_UNDER_A_WORKERS_LIMIT = """
import resource
from policies.worker import _limit_memory
from policies.opa_golib import GO_ADDRESS_SPACE, OpaGoEngine
from policies.bundle import load_shipped_bundle
from policies.probe_corpus import probe_corpus
_limit_memory()
before = resource.getrlimit(resource.RLIMIT_AS)[0]
bundle = load_shipped_bundle()
for seed in range(3):
    engine = OpaGoEngine(bundle)
    for document in probe_corpus(bundle.data, 300, seed):
        engine.evaluate(document)
    engine.close()
print(resource.getrlimit(resource.RLIMIT_AS)[0] - before == GO_ADDRESS_SPACE)
"""


def test_opa_runs_under_a_policy_workers_memory_limit_widened_for_go() -> None:
    """A review worker caps its address space; Go's runtime reserves more than the cap's
    headroom, so loading it widens the (soft) cap once by what Go reserves."""
    done = subprocess.run(
        [sys.executable, "-c", GO_UNDER_A_WORKERS_LIMIT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "True"), done.stderr[-2000:]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"risk_appetite": [3], "limits": "none", "activity_words": ["run"], "job_roles": 7},
        {"limits": {"objective_title_words": {"min": "four"}, "sandbagging_confidence": "x"}},
        {"sales_volume_terms": [1, None, "sales"], "risk_appetite": {"conduct": "high"}},
    ],
)
def test_the_corpus_draws_inputs_for_data_of_any_shape(data: dict[str, Any]) -> None:
    """A proposal's data is whatever its rules read: the divergence check must still run."""
    corpus = probe_corpus(data, 200)
    assert len(corpus) == 200 and len({json.dumps(d, sort_keys=True) for d in corpus}) > 100
