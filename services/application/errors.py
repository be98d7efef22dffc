"""Errors of the application layer; mapped to HTTP status codes in one place (api/errors).
(A lookup that finds nothing is ``events.errors.NotFound``: the read models raise it too.)"""


class Forbidden(Exception):
    """The principal's roles or ownership do not allow this command."""


class Conflict(Exception):
    """Another command changed the same aggregate at the same time, and retries ran out."""


class ProjectionBehind(Exception):
    """The read model has not reached the caller's last write within the wait bound."""


class GuardrailViolation(Exception):
    """The active guardrail policy denied the command; the denied attempt is recorded."""

    def __init__(
        self, deny: list[dict[str, str]], warn: list[dict[str, str]], position: int
    ) -> None:
        rules = ", ".join(v["rule"] for v in deny)
        super().__init__(f"denied by the guardrails: {rules}")
        self.deny = deny
        self.warn = warn
        self.position = position


class PolicyUnavailable(Exception):
    """The policy engine failed or is unreachable: fail closed, nothing was changed."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


class PolicyTimedOut(PolicyUnavailable):
    """The policies took longer than their time budget to evaluate: fail closed, nothing
    was changed. The message names the budget."""
