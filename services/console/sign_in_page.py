"""What the sign-in page shows and where signing in leads, shared by the ways to sign in
(``routes/sign_in.py``: a token, a demo person; ``routes/single_sign_on.py``: OIDC)."""

from typing import Any
from urllib.parse import urlsplit

from services.bootstrap import Platform
from services.console.session import demo_people

HOME = "/console"
SIGN_IN = "/console/sign-in"
#: The provider's end-session page the sign-in page goes on to, after a single sign-on
#: session was signed out (kept in the new session, never taken from the URL).
ENDING_KEY = "sso_ending"


def back_to(next_path: str | None) -> str:
    """Where to go after signing in: a console path of this site, else the console."""
    parts = urlsplit(next_path or "")
    path = parts.path
    if not (path == HOME or path.startswith(HOME + "/")) or path.startswith("//"):
        return HOME
    return path + (f"?{parts.query}" if parts.query else "")


def page_context(
    platform: Platform,
    next_path: str | None,
    why: str = "",
    error: str | None = None,
    ending_session: str | None = None,
) -> dict[str, Any]:
    """What the sign-in page shows: the ways to sign in this platform offers."""
    return {
        "people": demo_people(platform),
        "single_sign_on": bool(platform.settings.oidc_issuer),
        "next": back_to(next_path),
        "why": why,
        "error": error,
        "ending_session": ending_session,
    }
