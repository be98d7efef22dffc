"""Errors of the application layer; mapped to HTTP status codes in one place (api/errors)."""


class NotFound(Exception):
    """No aggregate of that kind with that id."""

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} not found")
        self.kind = kind
        self.ident = ident


class Forbidden(Exception):
    """The principal's roles or ownership do not allow this command."""


class Conflict(Exception):
    """Another command changed the same aggregate at the same time, and retries ran out."""


class ProjectionBehind(Exception):
    """The read model has not reached the caller's last write within the wait bound."""
