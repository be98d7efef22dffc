"""``infra.provider_tokens`` on what the suite's real provider (``tests/oidc_provider.py``,
one RSA key, tokens naming no key) cannot produce: key sets with ``kid``s, several keys,
EC keys, symmetric and encryption keys, keys stating their algorithm, tokens not valid
yet, an issuer written with a trailing slash, a provider that does not answer; and how
often the keys are read, on a clock the test moves.

``JwksDouble`` is a test double of a provider: a small HTTP server in a thread serving a
discovery document and a JWKS the test sets, counting the requests for the keys. The
tokens are signed here with keys generated here.

Over 300 lines: one subject (the verifier), every test on the same test double."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from infra.provider_tokens import ProviderTokens, ProviderUnavailable
from infra.tokens import InvalidToken

CLIENT = "okrgov"


class JwksDouble:
    """A test double of an identity provider: its discovery document and its JWKS, over
    HTTP on a free port."""

    def __init__(self) -> None:
        self.keys: Any = []  # what the JWKS's "keys" holds (anything, for the odd ones)
        self.jwks_requests = 0
        self.failing = False
        self.issuer_text: str | None = None  # what the discovery document says; None: base
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body: object = {
                        "issuer": double.issuer_text or double.base,
                        "jwks_uri": f"{double.base}/jwks",
                    }
                elif self.path == "/jwks":
                    double.jwks_requests += 1
                    if double.failing:
                        self.send_response(503)
                        self.end_headers()
                        return
                    body = {"keys": double.keys}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def publish(self, *keys: dict[str, Any]) -> None:
        self.keys = list(keys)


@pytest.fixture
def provider() -> Iterator[JwksDouble]:
    double = JwksDouble()
    double.thread.start()
    try:
        yield double
    finally:
        double.server.shutdown()
        double.server.server_close()


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


_RSA_KEYS = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(4)]
_next_key = itertools.cycle(_RSA_KEYS)


def rsa_key() -> rsa.RSAPrivateKey:
    """One of a few keys made once (making one takes a while): a test asking for at most
    four gets distinct ones."""
    return next(_next_key)


def jwk_of(key: Any, **fields: str) -> dict[str, Any]:
    """The public JWK of a private key, with ``fields`` (kid, alg, use) added."""
    public = key.public_key()
    algorithm = RSAAlgorithm if isinstance(public, rsa.RSAPublicKey) else ECAlgorithm
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(public))
    return {**jwk, **fields}


def claims(issuer: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    found = {"iss": issuer, "aud": CLIENT, "sub": "olivia", "iat": now, "exp": now + 300}
    found.update(changes)
    return {k: v for k, v in found.items() if v is not None}


def sign(key: Any, payload: dict[str, Any], alg: str = "RS256", kid: str | None = None) -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid} if kid else None)


def verifier(provider: JwksDouble, clock: Clock | None = None, **options: Any) -> ProviderTokens:
    options.setdefault("refresh_seconds", 60)
    options.setdefault("leeway_seconds", 0)
    return ProviderTokens(
        provider.base,
        [CLIENT],
        options.pop("algorithms", ["RS256", "PS256", "ES256"]),
        clock=clock or Clock(),
        **options,
    )


def refused(tokens: ProviderTokens, token: str) -> str:
    with pytest.raises(InvalidToken) as refusal:
        tokens.verify(token)
    return str(refusal.value)


# ---- keys named by kid, several keys, key types ----------------------------------------


def test_each_token_is_verified_with_the_key_its_kid_names(provider: JwksDouble) -> None:
    first, second = rsa_key(), rsa_key()
    provider.publish(jwk_of(first, kid="one"), jwk_of(second, kid="two"))
    tokens = verifier(provider)
    assert tokens.verify(sign(first, claims(provider.base), kid="one"))["sub"] == "olivia"
    assert tokens.verify(sign(second, claims(provider.base), kid="two"))["sub"] == "olivia"
    assert refused(tokens, sign(first, claims(provider.base), kid="two")).startswith(
        "the signature does not verify with key 'two' for RS256"
    )
    assert refused(tokens, sign(first, claims(provider.base), kid="three")).startswith(
        "unknown key 'three'"
    )
    # No kid: any key that fits may verify it.
    assert tokens.verify(sign(second, claims(provider.base)))["sub"] == "olivia"


def test_ec_keys_and_rsa_pss_verify_by_their_key_type(provider: JwksDouble) -> None:
    ec_key, rsa_pss = ec.generate_private_key(ec.SECP256R1()), rsa_key()
    provider.publish(jwk_of(ec_key, kid="ec"), jwk_of(rsa_pss))
    tokens = verifier(provider)
    assert tokens.verify(sign(ec_key, claims(provider.base), alg="ES256", kid="ec"))
    assert tokens.verify(sign(rsa_pss, claims(provider.base), alg="PS256"))
    # An RSA token pointed at the EC key: that key does not serve RS256.
    forged = sign(rsa_pss, claims(provider.base), alg="RS256", kid="ec")
    assert refused(tokens, forged).startswith("the signature does not verify with key 'ec'")


def test_a_key_that_states_its_algorithm_serves_only_that_one(provider: JwksDouble) -> None:
    key = rsa_key()
    provider.publish(jwk_of(key, kid="rs", alg="RS256"))
    tokens = verifier(provider)
    assert tokens.verify(sign(key, claims(provider.base), alg="RS256", kid="rs"))
    assert refused(tokens, sign(key, claims(provider.base), alg="PS256", kid="rs")).startswith(
        "the signature does not verify with key 'rs' for PS256"
    )
    assert refused(tokens, sign(key, claims(provider.base), alg="PS256")).startswith(
        "no key of the provider verifies it"
    )


def test_symmetric_and_encryption_keys_are_never_used(provider: JwksDouble) -> None:
    key = rsa_key()
    shared = {"kty": "oct", "kid": "shared", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ"}
    provider.publish(shared, jwk_of(key, kid="enc", use="enc"), jwk_of(rsa_key(), kid="sig"))
    tokens = verifier(provider, algorithms=["RS256", "HS256"])
    assert tokens.algorithms == ["RS256"]  # HMAC is never accepted, whatever is configured
    hs = jwt.encode(
        claims(provider.base), "secret-secret-secret-secret-1234", "HS256", {"kid": "shared"}
    )
    assert refused(tokens, hs).startswith("algorithm 'HS256' is not allowed")
    assert refused(tokens, sign(key, claims(provider.base), kid="enc")).startswith(
        "unknown key 'enc'"
    )
    assert refused(tokens, sign(key, claims(provider.base), kid="shared")).startswith(
        "unknown key 'shared'"
    )


def test_no_asymmetric_algorithm_allowed_is_refused_at_start(provider: JwksDouble) -> None:
    with pytest.raises(ValueError, match="OKRGOV_OIDC_ALGORITHMS allows no asymmetric"):
        verifier(provider, algorithms=["HS256", "none"])


def test_an_algorithm_not_configured_is_refused_before_any_key_is_read(
    provider: JwksDouble,
) -> None:
    key = rsa_key()
    provider.publish(jwk_of(key))
    tokens = verifier(provider, algorithms=["ES256"])
    assert refused(tokens, sign(key, claims(provider.base))).startswith(
        "algorithm 'RS256' is not allowed (['ES256'])"
    )
    assert provider.jwks_requests == 0


# ---- the claims ------------------------------------------------------------------------


def test_a_token_not_valid_yet_is_refused_unless_within_the_leeway(
    provider: JwksDouble,
) -> None:
    key = rsa_key()
    provider.publish(jwk_of(key))
    later = int(time.time()) + 120
    token = sign(key, claims(provider.base, nbf=later))
    assert refused(verifier(provider), token).startswith("the token is not valid yet")
    assert verifier(provider, leeway_seconds=300).verify(token)["nbf"] == later


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": int(time.time()) - 60}, "the token has expired (exp)"),
        ({"exp": None}, 'the token does not verify: Token is missing the "exp" claim'),
        ({"sub": None}, 'the token does not verify: Token is missing the "sub" claim'),
        ({"aud": None}, 'the token does not verify: Token is missing the "aud" claim'),
        ({"aud": "someone-else"}, "wrong audience"),
        ({"aud": ["someone-else", "another"]}, "wrong audience"),
        ({"iss": "http://127.0.0.1:1"}, "wrong issuer: the token claims 'http://127.0.0.1:1'"),
        ({"iss": None}, "wrong issuer: the token claims None"),
    ],
    ids=repr,
)
def test_claims_that_do_not_hold_are_refused_saying_which(
    provider: JwksDouble, changes: dict[str, Any], reason: str
) -> None:
    key = rsa_key()
    provider.publish(jwk_of(key))
    assert refused(verifier(provider), sign(key, claims(provider.base, **changes))).startswith(
        reason
    )


def test_a_token_for_okrgov_among_other_audiences_is_accepted(provider: JwksDouble) -> None:
    key = rsa_key()
    provider.publish(jwk_of(key))
    token = sign(key, claims(provider.base, aud=["someone-else", CLIENT]))
    assert verifier(provider).verify(token)["aud"] == ["someone-else", CLIENT]


def test_an_issuer_written_with_a_trailing_slash_is_the_same_issuer(
    provider: JwksDouble,
) -> None:
    """Some providers (Auth0) announce and sign ``https://tenant/``: configured with or
    without the slash, their tokens verify; a token saying it another way does not."""
    key = rsa_key()
    provider.publish(jwk_of(key))
    provider.issuer_text = f"{provider.base}/"
    for configured in (provider.base, f"{provider.base}/"):
        tokens = ProviderTokens(configured, [CLIENT], ["RS256"], clock=Clock())
        assert tokens.verify(sign(key, claims(f"{provider.base}/")))["sub"] == "olivia"
        assert refused(tokens, sign(key, claims(provider.base))).startswith("wrong issuer")


def test_a_discovery_document_naming_another_issuer_is_not_trusted(
    provider: JwksDouble,
) -> None:
    key = rsa_key()
    provider.publish(jwk_of(key))
    provider.issuer_text = "https://elsewhere.example"
    with pytest.raises(ProviderUnavailable, match=r"names issuer 'https://elsewhere\.example'"):
        verifier(provider).verify(sign(key, claims(provider.base)))
    assert provider.jwks_requests == 0


def test_text_that_is_no_jwt_is_refused(provider: JwksDouble) -> None:
    for text in ("garbage", "a.b.c", ""):
        assert refused(verifier(provider), text).startswith("not a JWT")


# ---- reading the keys: rotation and its rate --------------------------------------------


def test_a_new_kid_is_picked_up_and_forged_ones_cost_one_read_per_interval(
    provider: JwksDouble,
) -> None:
    first, second, forger = rsa_key(), rsa_key(), rsa_key()
    provider.publish(jwk_of(first, kid="2026-11"))
    clock = Clock()
    tokens = verifier(provider, clock, refresh_seconds=60)
    assert tokens.verify(sign(first, claims(provider.base), kid="2026-11"))
    assert provider.jwks_requests == 1

    provider.publish(jwk_of(first, kid="2026-11"), jwk_of(second, kid="2026-12"))
    clock.now += 60  # the interval since the last read has passed: the rotation is seen
    assert tokens.verify(sign(second, claims(provider.base), kid="2026-12"))
    assert provider.jwks_requests == 2

    for n in range(25):  # within the interval: no more reads, however many forgeries
        forged = sign(forger, claims(provider.base), kid=f"forged-{n}" if n % 2 else None)
        assert refused(tokens, forged)
        clock.now += 1
    assert provider.jwks_requests == 2
    clock.now += 60
    assert refused(tokens, sign(forger, claims(provider.base), kid="forged-again"))
    assert provider.jwks_requests == 3
    # The keys kept still verify without a read.
    assert tokens.verify(sign(first, claims(provider.base), kid="2026-11"))
    assert provider.jwks_requests == 3


def test_a_provider_that_does_not_answer_is_asked_at_most_once_per_interval(
    provider: JwksDouble,
) -> None:
    key = rsa_key()
    provider.publish(jwk_of(key))
    provider.failing = True
    clock = Clock()
    tokens = verifier(provider, clock, refresh_seconds=30)
    token = sign(key, claims(provider.base))
    with pytest.raises(ProviderUnavailable, match="could not read"):
        tokens.verify(token)
    for _ in range(10):
        with pytest.raises(ProviderUnavailable, match="tried again at most every 30 s"):
            tokens.verify(token)
    assert provider.jwks_requests == 1
    provider.failing = False
    clock.now += 30
    assert tokens.verify(token)["sub"] == "olivia"
    assert provider.jwks_requests == 2


def test_a_failed_reread_keeps_the_keys_it_had(provider: JwksDouble) -> None:
    key = rsa_key()
    provider.publish(jwk_of(key, kid="k"))
    clock = Clock()
    tokens = verifier(provider, clock, refresh_seconds=10)
    assert tokens.verify(sign(key, claims(provider.base), kid="k"))
    provider.failing = True
    clock.now += 10
    with pytest.raises(ProviderUnavailable):
        tokens.verify(sign(key, claims(provider.base), kid="new"))
    assert tokens.verify(sign(key, claims(provider.base), kid="k"))["sub"] == "olivia"


@pytest.mark.parametrize(
    "jwks",
    [{"keys": []}, {"keys": "none"}, {}, {"keys": [{"kty": "RSA"}, {"kty": "oct", "k": "AA"}]}],
    ids=repr,
)
def test_a_key_set_without_a_usable_key_is_the_provider_unavailable(
    provider: JwksDouble, jwks: dict[str, Any]
) -> None:
    provider.keys = jwks.get("keys")
    with pytest.raises(ProviderUnavailable):
        verifier(provider).verify(sign(rsa_key(), claims(provider.base)))
