"""Bearer tokens: HS256 JWTs signed with OKRGOV_SECRET_KEY (generated into ./var if unset)."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

ISSUER = "okrgov"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class TokenClaims:
    user: str
    roles: tuple[str, ...]


def load_or_create_secret(configured: str | None, data_dir: Path) -> str:
    """The configured secret, or one generated on first run and kept in data_dir."""
    if configured:
        return configured
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


class TokenSigner:
    def __init__(self, secret: str, ttl: timedelta = timedelta(days=90)) -> None:
        self._secret = secret
        self._ttl = ttl

    def create(self, user: str, roles: list[str]) -> str:
        now = datetime.now(UTC)
        claims = {"sub": user, "roles": roles, "iss": ISSUER, "iat": now, "exp": now + self._ttl}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> TokenClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["sub", "exp", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidToken("token has no roles")
        return TokenClaims(user=str(claims["sub"]), roles=tuple(roles))
