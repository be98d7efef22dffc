"""Reading "as of" from a person or a script: an event position or a moment, as the API's
``as_of`` query parameter and the console's quarter-end form both take it."""

import re
from datetime import datetime

from events.errors import InvalidValue
from infra.persistence import MAX_POSITION
from services.application.snapshots import AsOf

#: What ``as_of`` may look like: a position (at most 19 digits: 2^63-1 has 19; beyond it is
#: refused too) or a date with a time (``2026-12-31T23:59:59Z``; no offset means UTC).
AS_OF_PATTERN = r"^([0-9]{1,19}|\d{4}-\d\d-\d\d[T ].+)$"
AS_OF_MAX_LENGTH = 64


def read_as_of(text: str) -> AsOf:
    """``as_of`` typed into a form: held to the API's pattern and length (which the API's
    query parameter declares), then ``parse_as_of``; blank: now."""
    text = text.strip()
    if not text:
        return None
    if len(text) > AS_OF_MAX_LENGTH or not re.match(AS_OF_PATTERN, text):
        raise InvalidValue(
            "as_of is an event position (1234) or a date and time (2026-09-30T23:59:59Z)",
            field="as_of",
        )
    return parse_as_of(text)


def parse_as_of(as_of: str | None) -> AsOf:
    """``as_of`` as a position or a moment; ``InvalidValue`` naming ``as_of`` (422) when it
    is neither; None: now."""
    if as_of is None:
        return None
    if as_of.isascii() and as_of.isdigit():
        position = int(as_of)
        if not 1 <= position <= MAX_POSITION:
            raise InvalidValue(f"positions run from 1 to {MAX_POSITION}", field="as_of")
        return position
    try:
        return datetime.fromisoformat(as_of)
    except ValueError:
        raise InvalidValue(
            "as_of is neither an event position nor an ISO 8601 date and time", field="as_of"
        ) from None
