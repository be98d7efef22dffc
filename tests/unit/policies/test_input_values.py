"""The values the platform prepares in a guardrail input: folded words, basis points."""

from __future__ import annotations

import pytest

from policies.input_values import basis_points, resource_words, words


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
