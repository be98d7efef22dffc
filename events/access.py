"""Bearer tokens as records: who issued a token to whom, for which roles, until when, and
who revoked it and why. A token is accepted only while its issuance is on record and no
revocation is, so holding the signing secret alone does not make a valid token."""

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import event

from events.errors import InvalidTransition, InvalidValue
from events.identity import user_id_field
from events.provenance import GovernedAggregate, Stamp


class AccessToken(GovernedAggregate):
    """One issued token, identified by the id it carries (its ``jti``)."""

    class Issued(GovernedAggregate.Created):
        subject: str
        roles: list[str]
        expires_at: str

    class Revoked(GovernedAggregate.Event):
        pass

    @classmethod
    def issue(
        cls,
        token_id: UUID,
        subject: str,
        roles: list[str],
        expires_at: datetime,
        stamp: Stamp,
        reason: str | None = None,
    ) -> "AccessToken":
        if expires_at.tzinfo is None:
            raise InvalidValue("a token expires at an aware moment", field="expires_at")
        return cls._create(
            cls.Issued,
            id=token_id,
            subject=user_id_field(subject, "subject"),
            roles=sorted(set(roles)),
            expires_at=expires_at.isoformat(),
            **stamp.fields(reason),
        )

    @event(Issued)
    def __init__(
        self,
        subject: str,
        roles: list[str],
        expires_at: str,
        actor: str,
        correlation_id: str,
        reason: str | None,
    ) -> None:
        self.subject = subject
        self.roles = roles
        self.expires_at = datetime.fromisoformat(expires_at)
        self.issued_by = actor
        self.revoked_by: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_by is not None

    def revoke(self, reason: str | None, stamp: Stamp) -> None:
        if self.revoked:
            raise InvalidTransition(f"token {self.id} was already revoked by {self.revoked_by}")
        if reason is None or not reason.strip():
            raise InvalidValue("a revocation needs a reason", field="reason")
        self._revoked(**stamp.fields(reason.strip()))

    @event(Revoked)
    def _revoked(self, actor: str, correlation_id: str, reason: str | None) -> None:
        self.revoked_by = actor
