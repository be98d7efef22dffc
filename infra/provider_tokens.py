"""The identity provider's JWTs (OIDC access or ID tokens), verified against the keys it
publishes (its JWKS, found through ``/.well-known/openid-configuration``): signature,
``iss``, ``aud``, ``exp`` and ``nbf``, with only the configured algorithms (never
``none``, never an HMAC one: a public key used as an HMAC secret would sign anything).

The keys are kept in memory. A token naming a key not seen yet (``kid``), or, for a
provider whose tokens name no key (a single-key JWKS), one that no kept key verifies,
makes the keys be read again, at most every ``refresh_seconds``: so a rotation is picked
up at once, and a stream of forged tokens costs the provider one request per interval.

Every refusal is ``InvalidToken`` with the reason, for the operator's log."""

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import jwt
from jwt import PyJWK, PyJWKSet

from infra.tokens import InvalidToken

#: Algorithms that may never be accepted from a provider, whatever the settings say.
_NEVER = frozenset({"none", "HS256", "HS384", "HS512"})


class ProviderUnavailable(InvalidToken):
    """The provider's discovery document or keys could not be read."""


class ProviderTokens:
    """Verifies the JWTs of one issuer."""

    def __init__(
        self,
        issuer: str,
        audiences: Sequence[str],
        algorithms: Sequence[str],
        *,
        refresh_seconds: float = 60.0,
        leeway_seconds: int = 30,
        timeout_seconds: float = 5.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audiences = list(audiences)
        self.algorithms = [a for a in algorithms if a not in _NEVER]
        self._refresh_seconds = refresh_seconds
        self._leeway = leeway_seconds
        self._timeout = timeout_seconds
        self._metadata: dict[str, Any] | None = None
        self._keys: list[PyJWK] = []
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    # ---- the provider's documents --------------------------------------------------------

    def metadata(self) -> Mapping[str, Any]:
        """The provider's discovery document (read once); its ``issuer`` must be ours."""
        if self._metadata is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            document = self._get(url)
            if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                raise ProviderUnavailable(
                    f"the discovery document at {url} names issuer {document.get('issuer')!r}"
                )
            self._metadata = document
        return self._metadata

    def _get(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self._timeout, follow_redirects=False)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"could not read {url}: {exc}") from None
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{url} is not a JSON object")
        return document

    def keys(self, *, again: bool = False) -> list[PyJWK]:
        """The provider's signing keys; ``again``: read them anew, unless they were read
        less than ``refresh_seconds`` ago. Keys of algorithms not allowed are left out."""
        with self._lock:
            due = time.monotonic() - self._read_at >= self._refresh_seconds
            if not self._keys or (again and due):
                document = self._get(str(self.metadata()["jwks_uri"]))
                try:
                    found = PyJWKSet.from_dict(document).keys
                except jwt.PyJWTError as exc:
                    raise ProviderUnavailable(f"the provider's keys do not parse: {exc}") from None
                self._keys = list(found)
                self._read_at = time.monotonic()
            return list(self._keys)

    # ---- verifying -----------------------------------------------------------------------

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token the provider signed for us, still valid; else
        ``InvalidToken`` saying why (wrong issuer or audience, expired, not yet valid,
        unknown key, an algorithm not allowed, a bad signature)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"not a JWT: {exc}") from None
        algorithm = str(header.get("alg"))
        if algorithm not in self.algorithms:
            raise InvalidToken(f"algorithm {algorithm!r} is not allowed ({self.algorithms})")
        kid = header.get("kid")
        for again in (False, True):
            candidates = self._candidates(kid, algorithm, again=again)
            for key in candidates:
                try:
                    return self._decode(token, key, algorithm)
                except jwt.InvalidSignatureError:
                    continue
        known = "no key of the provider verifies it" if kid is None else f"unknown key {kid!r}"
        raise InvalidToken(f"{known} (issuer {self.issuer})")

    def _candidates(self, kid: object, algorithm: str, *, again: bool) -> list[PyJWK]:
        keys = self.keys(again=again)
        if kid is not None:
            return [k for k in keys if k.key_id == kid]
        return [k for k in keys if k.algorithm_name in (algorithm, None) or _fits(k, algorithm)]

    def _decode(self, token: str, key: PyJWK, algorithm: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audiences,
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.InvalidSignatureError:
            raise
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired (exp)") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("the token is not valid yet (nbf)") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken(f"wrong audience: the token is not for {self.audiences}") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken(f"wrong issuer: the token is not from {self.issuer}") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token does not verify: {exc}") from None
        return claims


def _fits(key: PyJWK, algorithm: str) -> bool:
    """A key published without ``alg`` may serve an algorithm of its type."""
    families = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA",)}
    return algorithm.startswith(families.get(str(key.key_type), ("-",)))


def issuer_of(token: str) -> str | None:
    """The ``iss`` a token claims, unverified: only to choose who verifies it."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return issuer.rstrip("/") if isinstance(issuer, str) else None
