"""Single sign-on to the console over HTTP, against the real provider process
(``tests/oidc_provider.py``), without a browser: the flow's checks refuse what they must
(another browser's state, an answer without a code, a callback replayed, a deactivated
person) with a page saying why, and ``next`` is kept but never leads off the console."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient
from oidc_provider import Provider, running_provider
from processes import free_port

from events.directory import Person as PersonRecord
from events.directory import person_id
from infra.config import Settings
from services.api import create_app
from services.bootstrap import Platform, build
from services.console.session import CLAIMS_BUDGET, SESSION_KEY, SESSION_REASON, session_claims

SECRET = "single-sign-on-test-secret-of-enough-length"
BASE = "http://127.0.0.1"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    with running_provider(tmp_path_factory.mktemp("oidc")) as running:
        yield running


@pytest.fixture
def platform(tmp_path: Path, provider: Provider) -> Iterator[Platform]:
    settings = Settings(
        data_dir=tmp_path,
        secret_key=SECRET,
        oidc_issuer=provider.issuer,
        oidc_client_secret="a-client-secret-the-mock-accepts-any",
    )
    platform = build(settings)
    platform.start()
    try:
        yield platform
    finally:
        platform.close()


@pytest.fixture
def browser(platform: Platform) -> Iterator[TestClient]:
    """A client keeping cookies, as a browser does."""
    with TestClient(create_app(platform), base_url=BASE) as client:
        yield client


def _to_provider(browser: TestClient, next_path: str = "/console") -> str:
    """Start single sign-on: the provider's authorization URL it redirects to."""
    answer = browser.get("/console/sign-in/sso", params={"next": next_path}, follow_redirects=False)
    assert answer.status_code == 302, answer.text[:300]
    return str(answer.headers["location"])


def _callback(authorization_url: str, user: str) -> str:
    """The provider signs ``user`` in (its form, as a person would submit it): the
    callback path and query it sends the browser back to."""
    answer = httpx.post(authorization_url, data={"sub": user}, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}" == BASE
    return f"{back.path}?{back.query}"


def _sign_in(browser: TestClient, user: str, next_path: str = "/console") -> httpx.Response:
    path = _callback(_to_provider(browser, next_path), user)
    answer: httpx.Response = browser.get(path, follow_redirects=False)
    return answer


def _signed_in(browser: TestClient) -> bool:
    answer = browser.get("/console/me", follow_redirects=False)
    return bool(answer.status_code == 200)


def test_the_authorization_request_is_code_flow_with_pkce_state_and_nonce(
    browser: TestClient, provider: Provider
) -> None:
    url = urlsplit(_to_provider(browser))
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}" == provider.issuer
    assert params["response_type"] == "code" and params["client_id"] == "okrgov"
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["state"] and params["nonce"]
    assert params["redirect_uri"] == f"{BASE}/console/sign-in/sso/callback"
    assert set(params["scope"].split()) == {"openid", "profile", "email"}


def test_a_person_signs_in_and_the_directory_is_refreshed_from_the_claims(
    platform: Platform, browser: TestClient
) -> None:
    answer = _sign_in(browser, "olivia", "/console/mine?tab=all")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/mine?tab=all"
    me = browser.get("/console/me").text
    assert "Olivia Grant" in me and "single sign-on" in me and "executive" in me
    person = platform.directory.find("olivia")
    assert person is not None and person.email == "olivia@northbridge.example"
    assert person.team == "Leadership"
    version = _record_version(platform, "olivia")
    # Signing in again with the same claims records nothing more in the directory.
    browser.post("/console/sign-out", data={"csrftoken": _csrf(browser)})
    assert _sign_in(browser, "olivia").status_code == 303
    assert _record_version(platform, "olivia") == version


def test_the_session_keeps_only_the_claims_it_needs(browser: TestClient) -> None:
    _sign_in(browser, "mo")
    session = _session_of(browser)
    identity = session[SESSION_KEY]
    assert identity["via"] == "oidc" and identity["user"] == "mo"
    assert set(identity["claims"]) == {"sub", "name", "email", "groups"}
    assert identity["id_token"].count(".") == 2  # the logout's hint
    assert len(browser.cookies["okrgov_session"]) < 4000


def test_many_groups_keep_only_those_the_role_mapping_names() -> None:
    claims: dict[str, Any] = {
        "sub": "x",
        "groups": [f"team-{n:04}" for n in range(400)] + ["okrgov-members"],
    }
    claims["realm_access"] = {"roles": ["okrgov-admins", *(f"r{n}" for n in range(300))]}
    kept = session_claims(
        claims, "sub", ["groups", "realm_access.roles"], ["okrgov-members", "okrgov-admins"]
    )
    assert kept == {
        "sub": "x",
        "groups": ["okrgov-members"],
        "realm_access": {"roles": ["okrgov-admins"]},
    }
    small = {"sub": "x", "groups": ["a", "b"], "tenant": "t"}
    assert session_claims(small, "sub", ["groups"]) == {"sub": "x", "groups": ["a", "b"]}
    assert len(json.dumps(kept)) < CLAIMS_BUDGET


def test_a_callback_with_another_browsers_state_is_refused(
    browser: TestClient, provider: Provider, platform: Platform
) -> None:
    theirs = _callback(_to_provider(browser), "olivia")
    with TestClient(create_app(platform), base_url=BASE) as other:
        _to_provider(other)  # a flow of its own: its state is not the one sent back
        refused = other.get(theirs, follow_redirects=False)
        assert refused.status_code == 400
        assert "already used, has expired or was started in another browser" in refused.text
        assert not _signed_in(other)


def test_a_forged_state_is_refused(browser: TestClient) -> None:
    path = _callback(_to_provider(browser), "olivia")
    forged = re.sub(r"state=[^&]+", "state=forged", path)
    refused = browser.get(forged, follow_redirects=False)
    assert refused.status_code == 400 and not _signed_in(browser)


def test_an_answer_without_a_code_or_with_the_providers_refusal_is_refused(
    browser: TestClient,
) -> None:
    state = parse_qs(urlsplit(_to_provider(browser)).query)["state"][0]
    no_code = browser.get(f"/console/sign-in/sso/callback?state={state}")
    assert no_code.status_code == 400 and "answer is incomplete" in no_code.text
    denied = browser.get(f"/console/sign-in/sso/callback?error=access_denied&state={state}")
    assert denied.status_code == 401 and "did not sign you in" in denied.text
    assert not _signed_in(browser)


def test_a_replayed_callback_is_refused(browser: TestClient) -> None:
    path = _callback(_to_provider(browser), "olivia")
    assert browser.get(path, follow_redirects=False).status_code == 303
    browser.post("/console/sign-out", data={"csrftoken": _csrf(browser)})
    replayed = browser.get(path, follow_redirects=False)
    assert replayed.status_code == 400 and not _signed_in(browser)


def test_a_deactivated_person_is_refused_with_a_clear_page(
    platform: Platform, browser: TestClient
) -> None:
    assert _sign_in(browser, "mo").status_code == 303
    browser.post("/console/sign-out", data={"csrftoken": _csrf(browser)})
    platform.directory.set_active("mo", False, by="sam", reason="left the firm")
    refused = _sign_in(browser, "mo")
    assert refused.status_code == 403
    assert "You may not sign in: mo is deactivated in the directory" in refused.text
    assert not _signed_in(browser)


def test_a_person_deactivated_meanwhile_is_signed_out_on_the_next_page(
    platform: Platform, browser: TestClient
) -> None:
    _sign_in(browser, "rick")
    assert _signed_in(browser)
    platform.directory.set_active("rick", False, by="sam")
    answer = browser.get("/console/me", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith(
        "/console/sign-in?next=/console/me"
    )


@pytest.mark.parametrize(
    "next_path", ["https://evil.example/", "//evil.example/console", "/v1/cycles"]
)
def test_next_never_leads_off_the_console(browser: TestClient, next_path: str) -> None:
    answer = _sign_in(browser, "olivia", next_path)
    assert answer.status_code == 303 and answer.headers["location"] == "/console"


def test_sign_out_goes_to_the_providers_end_session_page(
    browser: TestClient, provider: Provider
) -> None:
    _sign_in(browser, "olivia")
    hint = _session_of(browser)[SESSION_KEY]["id_token"]
    answer = browser.post(
        "/console/sign-out", data={"csrftoken": _csrf(browser)}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"
    page = browser.get("/console/sign-in")
    refresh = page.headers["refresh"]
    assert refresh.startswith("0; url=") and "Signed out of okrgov" in page.text
    ending = urlsplit(refresh.removeprefix("0; url="))
    params = {k: v[0] for k, v in parse_qs(ending.query).items()}
    assert (
        f"{ending.scheme}://{ending.netloc}{ending.path}" == f"{provider.issuer}/oauth2/end_session"
    )
    assert params["id_token_hint"] == hint and params["client_id"] == "okrgov"
    assert params["post_logout_redirect_uri"] == f"{BASE}/console/sign-in"
    assert not _signed_in(browser)
    assert "refresh" not in browser.get("/console/sign-in").headers  # once only


def test_a_session_is_on_the_record_and_a_copy_of_its_cookie_dies_with_sign_out(
    platform: Platform, browser: TestClient
) -> None:
    _sign_in(browser, "olivia")
    session = _session_of(browser)[SESSION_KEY]["session"]
    record = platform.tokens.access_list.find(UUID(session))
    assert record is not None and record.subject == "olivia" and record.issued_by == "olivia"
    assert record.roles == ("executive",) and record.reason == SESSION_REASON
    copied = browser.cookies["okrgov_session"]
    browser.post("/console/sign-out", data={"csrftoken": _csrf(browser)})
    browser.cookies.set("okrgov_session", copied)  # the cookie, stolen before sign-out
    assert not _signed_in(browser)
    ended = platform.tokens.access_list.find(UUID(session))
    assert ended is not None and ended.revoked_by == "olivia"
    assert ended.revocation_reason == "signed out"


def test_an_admin_ends_someone_elses_session_by_revoking_its_record(
    platform: Platform, browser: TestClient
) -> None:
    _sign_in(browser, "mo")
    assert _signed_in(browser)
    session = UUID(_session_of(browser)[SESSION_KEY]["session"])
    platform.tokens.revoke(session, "laptop lost", revoked_by="sam")
    assert not _signed_in(browser)


def test_a_provider_out_of_reach_is_a_page_saying_so(
    platform: Platform, browser: TestClient
) -> None:
    platform.settings.oidc_issuer = f"http://127.0.0.1:{free_port()}"  # nothing listens
    answer = browser.get("/console/sign-in/sso", follow_redirects=False)
    assert answer.status_code == 502
    assert "The identity provider could not be reached" in answer.text


def test_without_single_sign_on_configured_its_pages_send_to_sign_in(
    platform: Platform, browser: TestClient
) -> None:
    assert "Sign in with single sign-on" in browser.get("/console/sign-in").text
    platform.settings.oidc_issuer = None
    assert "Sign in with single sign-on" not in browser.get("/console/sign-in").text
    for path in ("/console/sign-in/sso", "/console/sign-in/sso/callback?code=x&state=y"):
        answer = browser.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/sign-in?why=single")


def _record_version(platform: Platform, user: str) -> int:
    record = platform.ledger.load(PersonRecord, person_id(user), to_change=False)
    return int(record.version)


def _csrf(browser: TestClient) -> str:
    page = browser.get("/console/sign-in").text
    found = re.search(r'name="csrftoken" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _session_of(browser: TestClient) -> dict[str, Any]:
    """What the session cookie holds (signed, not encrypted: readable, not forgeable)."""
    import base64

    payload = browser.cookies["okrgov_session"].split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded
