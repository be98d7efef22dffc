"""The token-signing secret must be long enough for HS256 (RFC 7518 3.2): a short one is
refused where it is configured, naming the setting, before any token is signed with it."""

import pytest
from pydantic import ValidationError

from infra.config import Settings


def test_a_short_secret_key_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKRGOV_SECRET_KEY", "test")
    with pytest.raises(ValidationError) as refused:
        Settings()
    (error,) = refused.value.errors()
    assert error["loc"] == ("secret_key",)
    assert error["type"] == "string_too_short"


def test_a_secret_key_of_32_characters_is_taken() -> None:
    assert Settings(secret_key="x" * 32).secret_key == "x" * 32
    assert Settings().secret_key is None  # generated into the data directory on first use
