"""A real OpenID Connect provider for the tests: ``oidc-provider-mock`` (PyPI) run as its
own process on a free port, as ``make test`` installs it. It runs the authorization code
flow with PKCE, publishes its discovery document and a single-key JWKS, and signs RS256
ID tokens that name no key (``kid``): the case okrgov must handle. Its access tokens are
opaque, so the API tests present its ID tokens (a JWT it signed, ``aud`` the client id)
as the provider's bearer tokens.

Nothing here fakes the provider: ``sign_in`` walks the flow over HTTP as a browser would
(the authorization page's form, the redirect with the code, the token endpoint)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from processes import free_port

#: The people the suite's provider knows, with the claims their ID tokens carry.
PEOPLE: dict[str, dict[str, Any]] = {
    "olivia": {
        "name": "Olivia Grant",
        "email": "olivia@northbridge.example",
        "groups": ["okrgov-executives"],
        "department": "Leadership",
    },
    "rick": {
        "name": "Rick Osei",
        "email": "rick@northbridge.example",
        "groups": ["okrgov-risk-officers"],
        "department": "Risk & Compliance",
    },
    "rita": {
        "name": "Rita Novak",
        "email": "rita@northbridge.example",
        "groups": ["okrgov-risk-officers"],
        "department": "Risk & Compliance",
    },
    "mo": {
        "name": "Mo Chen",
        "email": "mo@northbridge.example",
        "groups": ["okrgov-members"],
        "job_role": "investor_relations",
        "department": "Investor Relations",
    },
    "nobody": {"name": "No Groups", "email": "nobody@northbridge.example", "groups": []},
}
REDIRECT = "http://127.0.0.1/callback"


@dataclass
class Provider:
    """One running provider."""

    issuer: str
    process: subprocess.Popen[bytes]
    log: Path

    def claims_of(self, user: str) -> dict[str, Any]:
        return {"sub": user, **PEOPLE.get(user, {})}

    def set_user(self, user: str, claims: Mapping[str, Any]) -> None:
        """Change what the provider says of a person (its ``PUT /users/<sub>``)."""
        response = httpx.put(f"{self.issuer}/users/{user}", json=dict(claims), timeout=10)
        response.raise_for_status()

    def sign_in(
        self, user: str, client_id: str = "okrgov", scope: str = "openid profile email"
    ) -> dict[str, Any]:
        """The token response for ``user`` after a full code + PKCE flow: ``id_token`` (a
        JWT), ``access_token`` (opaque)."""
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        with httpx.Client(base_url=self.issuer, timeout=10) as http:
            answer = http.post("/oauth2/authorize", params=params, data={"sub": user})
            assert answer.status_code == 302, answer.text[:500]
            code = parse_qs(urlparse(answer.headers["location"]).query)["code"][0]
            token = http.post(
                "/oauth2/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT,
                    "client_id": client_id,
                    "client_secret": "any",
                    "code_verifier": verifier,
                },
            )
            token.raise_for_status()
            return dict(token.json())

    def id_token(self, user: str, client_id: str = "okrgov") -> str:
        return str(self.sign_in(user, client_id)["id_token"])


@contextmanager
def running_provider(
    logs: Path, *, port: int | None = None, token_max_age: int | None = None
) -> Iterator[Provider]:
    """A provider process knowing ``PEOPLE`` (on ``port``, else a free one), stopped at
    the end. ``token_max_age``: seconds its tokens live."""
    port = port or free_port()
    args = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port)]
    for user, claims in PEOPLE.items():
        args += ["--user-claims", json.dumps({"sub": user, **claims})]
    if token_max_age is not None:
        args += ["--token-max-age", str(token_max_age)]
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"oidc-provider-{port}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    try:
        _wait_for(issuer, process, log)
        yield Provider(issuer, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(issuer: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the OIDC provider exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the OIDC provider did not start: {log.read_text()[-2000:]}")
