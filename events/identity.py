"""User ids: one spelling per person, so that no spelling of a name counts as a second one.

A user id is compared, stored and shown in its canonical form: Unicode NFKC, case-folded
(as Unicode's NFKC_Casefold: normalise, fold, normalise again) and trimmed; the result
must be 1 to ``MAX_USER_ID_LENGTH`` printable ASCII characters without whitespace (the
user names, e-mail addresses and subject ids identity providers issue). So "Priya",
" priya", "PRIYA" and "ｐｒｉｙａ" (full width) are all the user ``priya``, while "",
"   ", "pri ya", "priya\u200b" (a zero-width space) and "prіya" (a Cyrillic і) are
refused rather than taken for someone else.
"""

import unicodedata

from events.errors import InvalidValue

#: The platform's own name, one value for two things that must stay equal to it: the actor
#: of what the platform records by itself (the shipped policy bundle as version 1, signing
#: keys, verification records, tokens issued from the command line), which sealed records
#: already name; and the ledger application's name, which names the PostgreSQL events table
#: (``okrgov_events``) of every existing store and which the relay and the projection
#: workers open without the ledger.
SYSTEM = "okrgov"
#: Longest canonical user id (an OIDC subject or an e-mail address fits).
MAX_USER_ID_LENGTH = 128
#: What an API request may send as a user id: the canonical characters, upper case
#: included, with spaces around (canonicalised away). Every text it matches has a
#: canonical form, so a schema showing this pattern promises nothing the server refuses.
USER_ID_PATTERN = rf"^ *[!-~]{{1,{MAX_USER_ID_LENGTH}}} *$"


class InvalidUserId(ValueError):
    """A text that is no user id, even after canonicalisation; says why."""


def canonical_user_id(text: str) -> str:
    """The canonical form of a user id; ``InvalidUserId`` when there is none."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    user = folded.strip()
    if not user:
        raise InvalidUserId("a user id must not be empty or blank")
    if len(user) > MAX_USER_ID_LENGTH:
        raise InvalidUserId(f"a user id has at most {MAX_USER_ID_LENGTH} characters")
    for character in user:
        if not "!" <= character <= "~":
            raise InvalidUserId(
                "a user id is printable ASCII without whitespace "
                f"(found U+{ord(character):04X} {unicodedata.name(character, 'unnamed')})"
            )
    return user


def is_canonical_user_id(text: str) -> bool:
    """Whether ``text`` is already a user id in its canonical form."""
    try:
        return canonical_user_id(text) == text
    except InvalidUserId:
        return False


def user_id_field(text: str, field: str) -> str:
    """A field that names a person (an owner): its canonical user id, or ``InvalidValue``
    naming the field."""
    try:
        return canonical_user_id(text)
    except InvalidUserId as exc:
        raise InvalidValue(f"{field} is not a user id: {exc}", field=field) from None
