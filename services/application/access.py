"""Access on the record: issuing and revoking bearer tokens as events, and letting a
request in only with a token whose issuance is recorded, unexpired and not revoked.

Every process keeps an ``AccessList`` read from the store's token events, refreshed at
most every ``refresh_seconds`` (and at once for a token id it has not seen, such as one
just issued by the CLI), so a revocation recorded by any process is honoured by every API
process within that interval."""

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from eventsourcing.utils import get_topic

from events import Stamp
from events.access import AccessToken
from events.errors import NotFound
from events.identity import SYSTEM, canonical_user_id, is_canonical_user_id
from infra.keyset import keyset_pages
from infra.logging import current_correlation_id, new_correlation_id
from infra.tokens import InvalidToken, TokenSigner
from services.application.ledger_base import Recorded, retry_on_conflict
from services.application.principals import Principal, Role

log = structlog.get_logger(__name__)

#: How long a token lives unless told otherwise (see the README's Security section).
DEFAULT_TOKEN_TTL = timedelta(days=30)
#: The longest life a token may be given.
MAX_TOKEN_TTL = timedelta(days=365)
_TOPICS = (get_topic(AccessToken.Issued), get_topic(AccessToken.Revoked))
_PAGE = 500


@dataclass(frozen=True)
class TokenRecord:
    """What the record says about one token (never the token itself)."""

    token_id: UUID
    subject: str
    roles: tuple[str, ...]
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    reason: str | None
    position: int
    revoked_by: str | None = None
    revoked_at: datetime | None = None
    revocation_reason: str | None = None

    def live(self, now: datetime) -> bool:
        return self.revoked_by is None and now < self.expires_at

    def as_document(self) -> dict[str, Any]:
        return {
            "id": str(self.token_id),
            "subject": self.subject,
            "roles": list(self.roles),
            "issued_by": self.issued_by,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "reason": self.reason,
            "position": self.position,
            "revoked_by": self.revoked_by,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revocation_reason": self.revocation_reason,
        }


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: the bearer text (shown once) and its record."""

    text: str
    record: TokenRecord


class AccessList:
    """The issued and revoked tokens of one store, as its events say."""

    def __init__(
        self, recorder: ApplicationRecorder, mapper: Mapper[Any], refresh_seconds: float
    ) -> None:
        self._recorder = recorder
        self._mapper = mapper
        self._refresh_seconds = refresh_seconds
        self._records: dict[UUID, TokenRecord] = {}
        self._position = 0
        self._refreshed_at = float("-inf")
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Read every token event recorded since the last refresh."""
        with self._lock:
            for notification in keyset_pages(
                self._token_events, lambda n: n.id, after=self._position, page_size=_PAGE
            ):
                self._apply(self._mapper.to_domain_event(notification), notification.id)
                self._position = notification.id
            self._refreshed_at = time.monotonic()

    def _token_events(self, after: int, limit: int) -> Sequence[Notification]:
        return self._recorder.select_notifications(
            start=after, limit=limit, topics=_TOPICS, inclusive_of_start=False
        )

    def find(self, token_id: UUID) -> TokenRecord | None:
        """The record of a token, at most ``refresh_seconds`` old (fresh for an id not
        seen yet)."""
        stale = time.monotonic() - self._refreshed_at >= self._refresh_seconds
        if stale or token_id not in self._records:
            self.refresh()
        return self._records.get(token_id)

    def records(self) -> list[TokenRecord]:
        """Every token on record, oldest first."""
        self.refresh()
        return sorted(self._records.values(), key=lambda r: r.position)

    def _apply(self, event: Any, position: int) -> None:
        if isinstance(event, AccessToken.Issued):
            self._records[event.originator_id] = TokenRecord(
                token_id=event.originator_id,
                subject=event.subject,
                roles=tuple(event.roles),
                issued_by=event.actor,
                issued_at=event.timestamp,
                expires_at=datetime.fromisoformat(event.expires_at),
                reason=event.reason,
                position=position,
            )
        elif isinstance(event, AccessToken.Revoked):
            issued = self._records.get(event.originator_id)
            if issued is not None:
                self._records[event.originator_id] = replace(
                    issued,
                    revoked_by=event.actor,
                    revoked_at=event.timestamp,
                    revocation_reason=event.reason,
                )


class AccessControl:
    """Issues, revokes and checks bearer tokens against the record."""

    def __init__(
        self,
        application: Application[UUID],
        signer: TokenSigner,
        access_list: AccessList,
        default_ttl: timedelta = DEFAULT_TOKEN_TTL,
    ) -> None:
        self._application = application
        self._signer = signer
        self.access_list = access_list
        self.default_ttl = default_ttl

    # ---- issuing -------------------------------------------------------------------------

    def issue(
        self,
        user: str,
        roles: Iterable[str],
        *,
        issued_by: str,
        ttl: timedelta | None = None,
        reason: str | None = None,
    ) -> IssuedToken:
        """Record a token for ``user`` (canonicalised first) and sign it. Raises
        ``InvalidUserId`` for a user id with no canonical form, ``ValueError`` for an
        unknown role or a lifetime out of bounds."""
        subject = canonical_user_id(user)
        granted = sorted({Role(role).value for role in roles})
        lifetime = self.default_ttl if ttl is None else ttl
        if not timedelta(0) < lifetime <= MAX_TOKEN_TTL:
            raise ValueError(f"a token lives more than 0 and at most {MAX_TOKEN_TTL.days} days")
        # JWT expiry is in whole seconds: record exactly the moment the token carries.
        expires_at = (datetime.now(UTC) + lifetime).replace(microsecond=0)
        token = AccessToken.issue(
            uuid4(), subject, granted, expires_at, self._stamp(issued_by), reason
        )
        position = self._record(token).position
        self.access_list.refresh()
        record = self.access_list.find(token.id)
        assert record is not None, "a token just recorded is on the record"
        log.info(
            "token.issued", token_id=str(token.id), subject=subject, roles=granted,
            issued_by=token.issued_by, expires_at=expires_at.isoformat(), position=position,
        )  # fmt: skip
        return IssuedToken(self._signer.create(token.id, subject, granted, expires_at), record)

    def create(self, user: str, roles: Sequence[str], *, issued_by: str = SYSTEM) -> str:
        """Issue a token with the default lifetime and return its text (tests, the demo)."""
        return self.issue(user, roles, issued_by=issued_by).text

    # ---- revoking ------------------------------------------------------------------------

    @retry_on_conflict
    def revoke(self, token_id: UUID, reason: str | None, *, revoked_by: str) -> Recorded:
        """Record the revocation of one token (``revoked_by``: a canonical user id)."""
        try:
            token: AccessToken = self._application.repository.get(token_id)
        except AggregateNotFoundError:
            raise NotFound("token", token_id) from None
        if not isinstance(token, AccessToken):
            raise NotFound("token", token_id)
        token.revoke(reason, self._stamp(revoked_by))
        recorded = self._record(token)
        self.access_list.refresh()
        log.info("token.revoked", token_id=str(token_id), subject=token.subject)
        return recorded

    def revoke_as(self, principal: Principal, token_id: UUID, reason: str | None) -> Recorded:
        """Admins revoke any token; anyone else (but compliance, which never writes) only
        their own."""
        principal.require_not_compliance("revoke tokens")
        record = self.access_list.find(token_id)
        if record is None:
            raise NotFound("token", token_id)
        if record.subject != principal.user:
            principal.require_any(
                Role.ADMIN, refusal="only an admin may revoke another person's token"
            )
        return self.revoke(token_id, reason, revoked_by=principal.user)

    def revoke_user(self, user: str, reason: str | None, *, revoked_by: str) -> list[UUID]:
        """Revoke every live token of a user (a leaver, a lost laptop)."""
        subject = canonical_user_id(user)
        now = datetime.now(UTC)
        live = [r for r in self.access_list.records() if r.subject == subject and r.live(now)]
        for record in live:
            self.revoke(record.token_id, reason, revoked_by=revoked_by)
        return [r.token_id for r in live]

    # ---- checking ------------------------------------------------------------------------

    def authenticate(self, text: str) -> Principal:
        """The principal of a presented token; ``InvalidToken`` saying why when the token
        does not verify, is not on record, does not match its record, expired or was
        revoked (the reason is for the log, not for the caller)."""
        claims = self._signer.verify(text)
        if not is_canonical_user_id(claims.user):
            raise InvalidToken(f"subject {claims.user!r} is not a canonical user id")
        if claims.token_id is None:
            raise InvalidToken("the token carries no id: it was not issued on the record")
        record = self.access_list.find(claims.token_id)
        if record is None:
            raise InvalidToken(f"token {claims.token_id} was never issued on the record")
        if record.subject != claims.user or set(record.roles) != set(claims.roles):
            raise InvalidToken(f"token {claims.token_id} does not match its record")
        if record.revoked_by is not None:
            raise InvalidToken(f"token {claims.token_id} was revoked by {record.revoked_by}")
        if not record.live(datetime.now(UTC)):
            raise InvalidToken(f"token {claims.token_id} expired at {record.expires_at}")
        return Principal.of(record.subject, record.roles)

    # ---- recording -----------------------------------------------------------------------

    def _stamp(self, actor: str) -> Stamp:
        return Stamp(canonical_user_id(actor), current_correlation_id() or new_correlation_id())

    def _record(self, token: AccessToken) -> Recorded:
        recordings = self._application.save(token)
        return Recorded(token.id, max(r.notification.id for r in recordings))
