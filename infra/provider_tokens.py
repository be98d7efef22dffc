"""The identity provider's JWTs (OIDC access or ID tokens), verified against the keys it
publishes (its JWKS, found through ``/.well-known/openid-configuration``): signature,
``iss``, ``aud``, ``exp`` and ``nbf``, with only the configured algorithms (never
``none``, never an HMAC one: a public key used as an HMAC secret would sign anything).

The issuer a token claims is compared before any key is looked at, so a token of another
issuer is refused for what it is ("wrong issuer") and costs the provider nothing. A key is
used only for the algorithm it fits (the ``alg`` the JWKS states for it, else its key
type), never a symmetric key and never one published for encryption.

The keys are kept in memory. A token naming a key not seen yet (``kid``), or, for a
provider whose tokens name no key (a single-key JWKS), one that no kept key verifies,
makes the keys be read again, at most every ``refresh_seconds`` (counted from the last
attempt, so a provider that does not answer is not asked on every request either): a
rotation is picked up at once, and a stream of forged tokens costs the provider one
request per interval.

Every refusal is ``InvalidToken`` with the reason, for the operator's log."""

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from infra.tokens import InvalidToken

#: Algorithms that may never be accepted from a provider, whatever the settings say.
_NEVER = frozenset({"none", "HS256", "HS384", "HS512"})
#: The algorithm families each key type serves, when the JWKS states no ``alg``.
_FAMILIES = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA",)}


class ProviderUnavailable(InvalidToken):
    """The provider's discovery document or keys could not be read."""


@dataclass(frozen=True)
class SigningKey:
    """One key of the provider's JWKS: its id, what it verifies with, and the algorithm it
    states (None: any of its key type's)."""

    kid: str | None
    kty: str
    alg: str | None
    key: Any

    def fits(self, algorithm: str) -> bool:
        if self.alg is not None:
            return self.alg == algorithm
        return algorithm.startswith(_FAMILIES.get(self.kty, ("-",)))


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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audiences = list(audiences)
        self.algorithms = [a for a in algorithms if a not in _NEVER]
        if not self.algorithms:
            raise ValueError(
                f"OKRGOV_OIDC_ALGORITHMS allows no asymmetric algorithm ({list(algorithms)}): "
                "a provider's tokens are verified with its public keys (RS256, PS256, ES256...)"
            )
        self._refresh_seconds = refresh_seconds
        self._leeway = leeway_seconds
        self._timeout = timeout_seconds
        self._clock = clock
        self._metadata: dict[str, Any] | None = None
        self._keys: list[SigningKey] = []
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
            if not isinstance(document.get("jwks_uri"), str):
                raise ProviderUnavailable(f"the discovery document at {url} has no jwks_uri")
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

    def keys(self, *, again: bool = False) -> list[SigningKey]:
        """The provider's signing keys; ``again``: read them anew, unless they were read
        (or tried) less than ``refresh_seconds`` ago."""
        with self._lock:
            due = self._clock() - self._read_at >= self._refresh_seconds
            if (not self._keys or again) and due:
                self._read_at = self._clock()
                self._keys = self._read_keys()
            elif not self._keys:
                raise ProviderUnavailable(
                    "the provider's keys could not be read, and are tried again at most "
                    f"every {self._refresh_seconds:g} s"
                )
            return list(self._keys)

    def _read_keys(self) -> list[SigningKey]:
        url = str(self.metadata()["jwks_uri"])
        entries = self._get(url).get("keys")
        if not isinstance(entries, list):
            raise ProviderUnavailable(f"{url} has no list of keys")
        found = [key for key in map(_signing_key, entries) if key is not None]
        if not found:
            raise ProviderUnavailable(f"{url} holds no public signing key okrgov can use")
        return found

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
        claimed = issuer_of(token)
        if claimed != self.issuer:
            raise InvalidToken(f"wrong issuer: the token claims {claimed!r}, not {self.issuer}")
        kid = header.get("kid")
        tried: list[SigningKey] | None = None
        for again in (False, True):
            keys = self.keys(again=again)
            if keys == tried:
                break  # not read again (too soon): the same keys would fail the same way
            tried = keys
            for key in keys:
                if (kid is None or key.kid == kid) and key.fits(algorithm):
                    try:
                        return self._decode(token, key, algorithm)
                    except jwt.InvalidSignatureError:
                        continue
        raise InvalidToken(f"{_no_key(kid, algorithm, tried or [])} (issuer {self.issuer})")

    def _decode(self, token: str, key: SigningKey, algorithm: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audiences,
                # The exact text the provider announces (a trailing slash is kept).
                issuer=str(self.metadata()["issuer"]),
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.InvalidSignatureError:
            raise
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired (exp)") from None
        except jwt.ImmatureSignatureError as exc:
            raise InvalidToken(f"the token is not valid yet: {exc}") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken(f"wrong audience: the token is not for {self.audiences}") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken(f"wrong issuer: the token is not from {self.issuer}") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token does not verify: {exc}") from None
        return claims


def _no_key(kid: object, algorithm: str, keys: Sequence[SigningKey]) -> str:
    """Why no key verified a token: none fits, the key it names does not, or it names a
    key the provider does not publish."""
    if kid is None:
        return "no key of the provider verifies it"
    if any(key.kid == kid for key in keys):
        return f"the signature does not verify with key {kid!r} for {algorithm}"
    return f"unknown key {kid!r}"


def _signing_key(entry: object) -> SigningKey | None:
    """A JWKS entry okrgov may verify with: a public key for signatures; else None."""
    if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
        return None
    if entry.get("kty") not in _FAMILIES:  # "oct" (a shared secret) never
        return None
    alg = entry.get("alg")
    try:
        parsed = PyJWK(entry)
    except jwt.PyJWTError:
        return None
    kid = entry.get("kid")
    return SigningKey(
        kid=kid if isinstance(kid, str) else None,
        kty=str(entry["kty"]),
        alg=alg if isinstance(alg, str) else None,
        key=parsed.key,
    )


def issuer_of(token: str) -> str | None:
    """The ``iss`` a token claims, unverified: only to choose who verifies it."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return issuer.rstrip("/") if isinstance(issuer, str) else None
