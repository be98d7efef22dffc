"""User ids are canonical: one spelling per person, and nothing that only looks like one."""

import re

import pytest

from events import Stamp
from events.identity import (
    MAX_USER_ID_LENGTH,
    USER_ID_PATTERN,
    InvalidUserId,
    canonical_user_id,
    is_canonical_user_id,
)
from services.application.principals import Principal


@pytest.mark.parametrize(
    "spelling",
    ["priya", "Priya", "PRIYA", " priya", "priya\t", "\u00a0priya\u00a0", "ｐｒｉｙａ", "𝐩𝐫𝐢𝐲𝐚"],
)
def test_every_spelling_of_a_name_is_one_user(spelling: str) -> None:
    assert canonical_user_id(spelling) == "priya"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\u3000", "empty"),  # an ideographic space
        ("pri ya", "U+0020"),
        ("priya\u200b", "U+200B"),  # zero-width space: looks like priya, is not
        ("pr\u0456ya", "U+0456"),  # a Cyrillic і
        ("tom\x00", "U+0000"),
        ("a" * (MAX_USER_ID_LENGTH + 1), "at most"),
    ],
)
def test_what_is_no_user_id_is_refused_saying_why(text: str, why: str) -> None:
    with pytest.raises(InvalidUserId, match=re.escape(why)):
        canonical_user_id(text)


def test_the_canonical_form_is_stable() -> None:
    for text in ("Tom", "o'Brien@Example.COM", "auth0|ABC123", "x" * MAX_USER_ID_LENGTH):
        user = canonical_user_id(text)
        assert canonical_user_id(user) == user
        assert is_canonical_user_id(user)
    assert not is_canonical_user_id("Tom")
    assert not is_canonical_user_id("")


def test_what_the_api_schema_allows_always_has_a_canonical_form() -> None:
    pattern = re.compile(USER_ID_PATTERN)
    for code in range(0x20, 0x7F):
        text = f" A{chr(code)}b "
        if pattern.fullmatch(text):
            assert is_canonical_user_id(canonical_user_id(text))
    assert not pattern.fullmatch("")
    assert not pattern.fullmatch("pri ya")
    assert not pattern.fullmatch("ｐｒｉｙａ")


def test_only_canonical_ids_act() -> None:
    with pytest.raises(ValueError):
        Stamp("Priya", "c-1")
    with pytest.raises(ValueError):
        Stamp("", "c-1")
    with pytest.raises(InvalidUserId):
        Principal.of("  ", ["executive"])
    assert Principal.of("priya", ["executive"]).user == "priya"
