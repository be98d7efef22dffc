"""Bearer tokens: HS256 JWTs signed with OKRGOV_SECRET_KEY (generated into ./var if unset),
each naming its id (``jti``), subject, roles and expiry. Signing and checking the signature
only: whether a token was issued on the record and is still live is the application's
question (``services.application.access``)."""

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import jwt

ISSUER = "okrgov"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class TokenClaims:
    user: str
    roles: tuple[str, ...]
    token_id: UUID | None
    """The ``jti``: None for a token made before tokens were recorded."""
    expires_at: datetime


def load_or_create_secret(configured: str | None, data_dir: Path) -> str:
    """The configured secret, or one generated on first run and kept in data_dir."""
    if configured:
        return configured
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # Created 0600 from the first byte: never readable by others, not even for a moment.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret)
    return secret


class TokenSigner:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def create(self, token_id: UUID, user: str, roles: list[str], expires_at: datetime) -> str:
        claims = {
            "jti": str(token_id),
            "sub": user,
            "roles": roles,
            "iss": ISSUER,
            "iat": datetime.now(UTC),
            "exp": expires_at,
        }
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
        subject = claims["sub"]
        if not isinstance(subject, str):
            raise InvalidToken("token subject is not a string")
        return TokenClaims(
            user=subject,
            roles=tuple(roles),
            token_id=_token_id(claims.get("jti")),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )


def _token_id(value: object) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidToken("token id (jti) is not a UUID") from None
