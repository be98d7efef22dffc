"""Named violations of the OKR rules; each carries a stable rule code for API clients,
whether it is a rule of state or of value (``RuleKind``), and what the message advises
doing instead (``Remedy``). The messages speak the domain's language: where a remedy is
asked for (an HTTP route, a command) is added by whoever shows the refusal."""

from enum import StrEnum


class RuleKind(StrEnum):
    """Which side of a request a broken rule faults."""

    STATE = "state"
    """The request was well formed, but the aggregate's state refuses it (locked, closed,
    retired, four eyes): the same request may succeed in another state."""
    VALUE = "value"
    """A value sent is outside what the model accepts, whatever the state."""


class Remedy(StrEnum):
    """What a refusal's message advises the caller to do instead."""

    CHANGE_REQUEST = "change_request"
    """File a change request (after lock, the only way a commitment changes)."""


class NotFound(LookupError):
    """No aggregate, or no document of a read model, of that kind with that id."""

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} not found")
        self.kind = kind
        self.ident = ident


class DomainError(Exception):
    """A command broke a rule of the domain; nothing was recorded."""

    rule = "domain_rule"
    kind = RuleKind.VALUE
    field: str | None = None

    def __init__(
        self, message: str, *, field: str | None = None, remedy: Remedy | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy
        """The remedy the message ends by advising, if it advises one."""
        if field is not None:
            self.field = field


class InvalidValue(DomainError):
    """A value is outside what the OKR model accepts (confidence range, empty title)."""

    rule = "invalid_value"


class NotMeasurable(DomainError):
    """Target equal to baseline, or a direction that contradicts them."""

    rule = "not_measurable"


class InvalidTransition(DomainError):
    """The aggregate is not in a state that allows this command."""

    rule = "invalid_transition"
    kind = RuleKind.STATE


class NotSealed(InvalidTransition):
    """Only a sealed cycle has a quarter-end snapshot to verify."""

    rule = "not_sealed"


class CycleClosed(DomainError):
    """Nothing but reading happens on a closed cycle."""

    rule = "cycle_closed"
    kind = RuleKind.STATE


class CycleLocked(DomainError):
    """Objectives and key results are defined before the cycle is locked."""

    rule = "cycle_locked"
    kind = RuleKind.STATE


class ChangeNeedsApproval(DomainError):
    """After lock a key result changes only through an approved change request."""

    rule = "change_needs_approval"
    kind = RuleKind.STATE


class SelfApproval(DomainError):
    """Four eyes: the approver of a change is never its requester."""

    rule = "four_eyes"
    kind = RuleKind.STATE


class AlreadyRetired(DomainError):
    """A retired objective or key result takes no further changes."""

    rule = "retired"
    kind = RuleKind.STATE


class ReasonRequired(DomainError):
    """Changes that alter a commitment must say why."""

    rule = "reason_required"
    field = "reason"
