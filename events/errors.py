"""Named violations of the OKR rules; each carries a stable rule code for API clients."""


class DomainError(Exception):
    """A command broke a rule of the domain; nothing was recorded."""

    rule = "domain_rule"
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
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


class NotSealed(InvalidTransition):
    """Only a sealed cycle has a quarter-end snapshot to verify."""

    rule = "not_sealed"


class CycleClosed(DomainError):
    """Nothing but reading happens on a closed cycle."""

    rule = "cycle_closed"


class CycleLocked(DomainError):
    """Objectives and key results are defined before the cycle is locked."""

    rule = "cycle_locked"


class ChangeNeedsApproval(DomainError):
    """After lock a key result changes only through an approved change request."""

    rule = "change_needs_approval"


class SelfApproval(DomainError):
    """Four eyes: the approver of a change is never its requester."""

    rule = "four_eyes"


class AlreadyRetired(DomainError):
    """A retired objective or key result takes no further changes."""

    rule = "retired"


class ReasonRequired(DomainError):
    """Changes that alter a commitment must say why."""

    rule = "reason_required"
    field = "reason"
