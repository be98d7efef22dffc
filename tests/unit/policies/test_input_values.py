"""The values the platform prepares in a guardrail input: folded words, basis points, the
cycle summary at lock."""

from __future__ import annotations

import pytest

from policies.bundle import load_shipped_bundle
from policies.embedded import EmbeddedEngine
from policies.input_values import (
    basis_points,
    cycle_summary,
    locked_key_result,
    resource_words,
    words,
)
from policies.opa_golib import OpaGoEngine
from policies.probe_corpus import probe_corpus


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NET İNFLOWS FROM LPS", " net inflows from lps "),  # dotted capital I
        ("ｓａｌｅｓ\u00a0growth", " sales growth "),  # fullwidth letters, no-break space
        ("𝐑𝐞𝐯𝐞𝐧𝐮𝐞 up", " revenue up "),  # mathematical bold letters
        ("Cross-selling to LPs", " cross selling to lps "),
        ("Réténtion\u2009straße ærø", " retention strasse aero "),
        ("b\u0131g\tdata", " big data "),  # dotless i, tab
        ("   ", " "),
    ],
)
def test_words_fold_text_to_padded_lower_case_ascii_words(text: str, expected: str) -> None:
    assert words(text) == expected


def test_resource_words_are_prepared_for_the_text_fields_the_rules_match() -> None:
    after = {"title": "NET İNFLOWS", "unit": "EUR m", "owner": "tom", "baseline": 1}
    assert resource_words(after) == {"title": " net inflows ", "unit": " eur m "}
    assert resource_words({"title": 3}) == {}
    assert resource_words(None) == {}


@pytest.mark.parametrize(
    ("confidence", "points"),
    [(0.7, 7000), (1.0, 10000), (0.0, 0), (0.9, 9000), (0.90005, 9000), (0.90015, 9002),
     (0.123456, 1235), (1e-05, 0)],
)  # fmt: skip
def test_basis_points_round_half_to_even_from_the_decimal_spelling(
    confidence: float, points: int
) -> None:
    assert basis_points(confidence) == points


def test_the_cycle_summary_sums_up_each_objective_and_the_cycle() -> None:
    key_results = [
        locked_key_result("kr-1", "obj-1", 0.9),
        locked_key_result("kr-2", "obj-2", None),
        locked_key_result("kr-3", "obj-1", 0.95),
    ]
    assert cycle_summary(key_results) == {
        "objectives": {
            "obj-1": {"key_results": 2, "points": [9000, 9500]},
            "obj-2": {"key_results": 1, "points": []},
        },
        "points": [9000, 9500],
    }


def test_a_lock_decides_the_same_with_the_summary_prepared_or_summed_up_by_the_rules() -> None:
    """The rules trust a prepared summary; it must say what they would have summed up."""
    bundle = load_shipped_bundle()
    embedded, opa = EmbeddedEngine(bundle), OpaGoEngine(bundle)
    warned = 0
    try:
        for document in probe_corpus(bundle.data, 1500, seed=17):
            if "cycle_summary" not in document or "cycle_key_results" not in document:
                continue  # (the corpus leaves out a field now and then)
            lock = {**document, "action": "cycle.lock"}
            without = {k: v for k, v in lock.items() if k != "cycle_summary"}
            verdict = embedded.evaluate(lock)
            assert verdict == embedded.evaluate(without) == opa.evaluate(without), lock
            warned += any(v.rule == "sandbagging" for v in verdict.warn)
    finally:
        opa.close()
    assert warned > 20  # the summary decided some sandbagging warnings
