"""The fast RFC 8785 encoder (``projections.canonical_json``) writes exactly the bytes of
the ``rfc8785`` package, on random documents with the awkward cases: control and
non-BMP characters, keys that sort differently by code point and by UTF-16, floats that
print differently in Python and ECMAScript, integral floats, large integers."""

import random
import string
from typing import Any

import pytest
import rfc8785

from events import CycleState
from projections.canonical_json import jcs

ODD_TEXT = [
    "", "\u0000", "\u001f", "\b\t\n\f\r", '"\\/', "\u007f", "\u2028\u2029", "\ufb33",
    "\U0001f600", "\u20ac", "é", "\ue000", "\uffff", "a\u00a0b",
]  # fmt: skip
ODD_NUMBERS: list[Any] = [
    0, -0.0, 1.0, 15.0, -3.0, 0.5714, 1e-4, 9.99e-5, 1e-7, 123456.789, 1e15 + 0.5, 1e16,
    1e21, 1.5e300, 2.0**53, 2**53 - 1, -(2**53) + 1, 0.1 + 0.2, 5e-324, 1 / 3, True, False,
    None,
]  # fmt: skip


def text(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return rng.choice(ODD_TEXT) + rng.choice(string.ascii_letters)
    return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 8)))


def value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 4 and roll < 0.2:
        return {text(rng): value(rng, depth + 1) for _ in range(rng.randint(0, 5))}
    if depth < 4 and roll < 0.35:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    if roll < 0.6:
        return rng.choice(ODD_NUMBERS)
    if roll < 0.7:
        return rng.uniform(-1e6, 1e6)
    return text(rng)


@pytest.mark.parametrize("seed", range(40))
def test_the_bytes_are_the_packages(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        document = {text(rng): value(rng) for _ in range(rng.randint(0, 6))}
        try:
            expected = rfc8785.dumps(document)
        except Exception as exc:  # the package refuses it: so must we
            with pytest.raises(type(exc)):
                jcs(document)
            continue
        assert jcs(document) == expected, document


@pytest.mark.parametrize("number", ODD_NUMBERS)
def test_each_odd_number_is_written_as_the_package_writes_it(number: Any) -> None:
    try:
        expected = rfc8785.dumps({"n": number, "l": [number]})
    except Exception as exc:
        with pytest.raises(type(exc)):
            jcs({"n": number, "l": [number]})
        return
    assert jcs({"n": number, "l": [number]}) == expected


def test_keys_sorted_by_utf16_not_by_code_point() -> None:
    document = {"\U0001f600": 1, "\ufb33": 2, "\ue000": 3, "a": 4}
    assert jcs(document) == rfc8785.dumps(document)


def test_random_floats_across_every_magnitude() -> None:
    rng = random.Random(8785)
    numbers = [rng.choice((-1, 1)) * 10 ** rng.uniform(-8, 22) for _ in range(20_000)] + [
        round(rng.uniform(0, 100), rng.randint(0, 6)) for _ in range(5_000)
    ]
    for number in numbers:  # one at a time: one odd number sends a document to the package
        assert jcs({"n": number}) == rfc8785.dumps({"n": number}), number


def test_a_str_enum_is_written_as_its_text() -> None:
    document = {"state": CycleState.CLOSED, "states": list(CycleState)}
    assert jcs(document) == rfc8785.dumps(document)
    assert b'"closed"' in jcs(document)
