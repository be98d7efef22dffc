"""The one place where failures become HTTP answers. Every error, whatever raised it, has
the public shape ``{"error": {"code", "message", "details": [...]}}``; ``code`` is stable
(a domain error's rule code), ``details`` name the offending field where one is known.

A domain error's status follows its kind: state and transition rules (locked, closed,
retired, four eyes) answer 409, the request was well formed but the aggregate's state
refuses it; value rules answer 422. Its remedy gains the route that files it."""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from events.errors import ChangeNeedsApproval, DomainError, NotFound, Remedy, RuleKind, SelfApproval
from events.policy import DivergenceNotAcknowledged
from policies.engine import PolicyCompileError, PolicyError, PolicyTimeout
from policies.opa_golib import OpaUnavailable
from policies.proposal_checks import CheckResult, PolicyChecksFailed
from policies.review import ReviewsBusy, ReviewTimeout
from services.api.schemas.change_requests import UNION_TAGS
from services.api.schemas.errors import ErrorBody
from services.application.errors import (
    Conflict,
    Forbidden,
    GuardrailViolation,
    PolicyTimedOut,
    PolicyUnavailable,
    ProjectionBehind,
)

#: The status of a broken domain rule, by its kind.
RULE_STATUS = {RuleKind.STATE: 409, RuleKind.VALUE: 422}
CHANGE_REQUEST_PATH = "/v1/change-requests"
#: Where each remedy a domain message advises is filed.
REMEDY_ROUTES = {Remedy.CHANGE_REQUEST: f"POST {CHANGE_REQUEST_PATH}"}
POSITION_HEADER = "X-Okrgov-Position"
#: Guardrail rules about the state of a cycle or a request, not about the values sent:
#: their denials answer 409 like the domain's own state rules (the public contract
#: answers a post-lock edit with 409 naming the change-request route).
#: Their codes are those the domain gives the same refusal.
STATE_GUARDRAILS = {"changes_after_lock": ChangeNeedsApproval.rule, "four_eyes": SelfApproval.rule}
#: Guardrail rules about who may act at all: their denials answer 403 like the roles' own
#: refusals (code ``forbidden``), with the rule in the details.
AUTHORITY_GUARDRAILS = frozenset({"approver_role"})
RETRY_AFTER_SECONDS = 1
_HTTP_CODES = {401: "unauthenticated", 404: "not_found", 405: "method_not_allowed"}
_PARTS = ("body", "query", "path", "header", "cookie")


class Unauthenticated(Exception):
    """No bearer token, or one that does not verify."""


class IdentityProviderUnavailable(Exception):
    """The identity provider's keys could not be read to check its token: 503, try again
    (the token may be valid; nobody is let in unchecked)."""


class PayloadTooLarge(Exception):
    """A request body larger than ``OKRGOV_MAX_BODY_BYTES``; it was not read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes; nothing was read")
        self.limit = limit


@dataclass
class Problem:
    """An error answer before it is rendered."""

    status: int
    code: str
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def response(self, extra_headers: Mapping[str, str] | None = None) -> JSONResponse:
        body = {"error": {"code": self.code, "message": self.message, "details": self.details}}
        return JSONResponse(body, self.status, headers={**self.headers, **(extra_headers or {})})


Answer = Callable[[Any], Problem]
"""How one kind of exception is told to an API client."""


def problem(exc: Exception) -> Problem:
    """What an exception means to an API client: the first kind in ``PROBLEMS`` it is."""
    for kind, answer in PROBLEMS:
        if isinstance(exc, kind):
            return answer(exc)
    return Problem(500, "internal_error", "the server failed; quote the correlation id")


def _plain(status: int, code: str, headers: Mapping[str, str] | None = None) -> Answer:
    """An answer whose message is the exception's own."""
    return lambda exc: Problem(status, code, str(exc), headers=dict(headers or {}))


def _retry_later(code: str) -> Answer:
    """503: the client may try again after ``RETRY_AFTER_SECONDS``."""
    return _plain(503, code, {"Retry-After": str(RETRY_AFTER_SECONDS)})


def _validation_problem(exc: RequestValidationError) -> Problem:
    details = [_validation_detail(error) for error in exc.errors()]
    fields = ", ".join(dict.fromkeys(str(d["field"]) for d in details))
    return Problem(422, "validation_error", f"the request is not valid: {fields}", details)


def _compile_problem(exc: PolicyCompileError) -> Problem:
    field = f"modules.{exc.module}" if exc.module else "modules"
    detail = {**_detail(field, "rego_compile", exc.message), "line": exc.line}
    return Problem(422, "policy_compile_error", str(exc), [detail])


def _busy_problem(exc: ReviewsBusy) -> Problem:
    headers = {"Retry-After": str(math.ceil(exc.retry_after))}
    return Problem(503, "policy_review_busy", str(exc), headers=headers)


def _too_large_problem(exc: PayloadTooLarge) -> Problem:
    detail = _detail("body", "max_bytes", f"at most {exc.limit} bytes")
    return Problem(413, "payload_too_large", str(exc), [detail])


def _http_problem(exc: HTTPException) -> Problem:
    if exc.status_code == 400:
        # The framework's only 400: a body it could not even decode as JSON text.
        detail = _detail("body", "json_invalid", str(exc.detail))
        return Problem(422, "validation_error", "the request is not valid: body", [detail])
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return Problem(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))


def _domain_problem(exc: DomainError) -> Problem:
    message = exc.message
    if exc.remedy is not None:
        message = f"{message} ({REMEDY_ROUTES[exc.remedy]})"
    elif isinstance(exc, ChangeNeedsApproval):
        message = f"{message}; file a change request: POST {CHANGE_REQUEST_PATH}"
    return Problem(
        RULE_STATUS[exc.kind], exc.rule, message, [_detail(exc.field, exc.rule, message)]
    )


def _divergence_problem(exc: DivergenceNotAcknowledged) -> Problem:
    """409 naming the field to send and how many probe inputs the engines answer
    differently (0 with ``status`` not_checked when they were not compared)."""
    report = exc.report or {}
    detail = {
        **_detail(exc.field, exc.rule, exc.message),
        "status": report.get("status", "not_checked"),
        "differing": exc.differing,
        "inputs": exc.inputs,
    }
    return Problem(409, exc.rule, exc.message, [detail])


def _guardrail_problem(exc: GuardrailViolation) -> Problem:
    """422 listing every violated rule; 403 when a rule about who may act is among them
    (``approver_role``), else 409 when a state rule (lock, four eyes) is; the message
    carries the rules' own advice on how to fix it."""
    details = [_detail(None, v["rule"], v["message"]) for v in exc.deny]
    message = "denied by the guardrails: " + " ".join(v["message"] for v in exc.deny)
    if any(v["rule"] in AUTHORITY_GUARDRAILS for v in exc.deny):
        return Problem(403, "forbidden", message, details)
    state = [STATE_GUARDRAILS[v["rule"]] for v in exc.deny if v["rule"] in STATE_GUARDRAILS]
    if state:
        return Problem(409, state[0], message, details)
    return Problem(422, "guardrail_denied", message, details)


def _checks_problem(exc: PolicyChecksFailed) -> Problem:
    """422 with one detail per failing check: the test (or setting) it names, where it is,
    why it failed, and for a test past the budget the rule that is slow on its own."""
    details = [_check_detail(failure) for failure in exc.failures]
    shown = "; ".join(f"{f.name}: {f.message}" for f in exc.failures[:3])
    more = f" (and {len(exc.failures) - 3} more)" if len(exc.failures) > 3 else ""
    message = f"the proposed version fails {len(exc.failures)} check(s): {shown}{more}"
    return Problem(422, "policy_test_failed", message, details)


def _check_detail(failure: CheckResult) -> dict[str, Any]:
    culprit = failure.culprit
    # The field at fault: the setting the data lacks, the module of the slow rule, the
    # proposal's own test module; an invariant that fails faults the modules as a whole.
    where = culprit.location if culprit else failure.location if failure.kind == "test" else None
    field = f"modules.{where.rpartition(':')[0]}" if where else "modules"
    if failure.kind == "data_setting":
        field = failure.name
    return {
        **_detail(field, failure.kind, failure.message),
        "test": failure.name,
        "outcome": failure.outcome,
        "location": failure.location,
        "culprit": {"rule": culprit.rule, "location": culprit.location} if culprit else None,
    }


def _detail(field: str | None, rule: str, message: str) -> dict[str, Any]:
    return {"field": field, "rule": rule, "message": message}


def _validation_detail(error: Mapping[str, Any]) -> dict[str, Any]:
    """One pydantic error as ``{field, rule, message}``: ``("body", "changes", "target")``
    names ``changes.target``; a body that is not JSON at all names ``body``."""
    # A union body (a change request) adds the tag of the shape it chose: not a field.
    loc: Sequence[Any] = [part for part in error.get("loc", ()) if part not in UNION_TAGS]
    rest = [str(part) for part in loc[1:]] if loc and loc[0] in _PARTS else [str(p) for p in loc]
    if error.get("type") == "json_invalid" or not rest:
        rest = [str(loc[0])] if loc else ["body"]
    return _detail(".".join(rest), str(error.get("type", "invalid")), str(error.get("msg", "")))


def noted_problem(request: Request, exc: Exception) -> Problem:
    """``problem(exc)`` for this request; a refusal that recorded its decision (a guardrail
    denial, an unavailable policy) counts as the caller's write, so their next read sees it."""
    answer = problem(exc)
    position = getattr(exc, "position", None)
    principal = getattr(request.state, "principal", None)
    if isinstance(exc, GuardrailViolation | PolicyUnavailable) and principal is not None:
        request.app.state.platform.wrote(principal.user, position)
        answer.headers[POSITION_HEADER] = str(position)
    return answer


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    return noted_problem(request, exc).response()


def install_error_handlers(app: FastAPI) -> None:
    for kind in (
        RequestValidationError,
        DomainError,
        NotFound,
        Forbidden,
        Conflict,
        ProjectionBehind,
        Unauthenticated,
        HTTPException,
        GuardrailViolation,
        PolicyUnavailable,
        PolicyError,
    ):
        app.add_exception_handler(kind, _handle)


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        401: "no bearer token, or one that does not verify",
        403: "the caller's roles or ownership do not allow this",
        404: "no such cycle, objective, key result or change request",
        409: "the state refuses it: locked, closed, retired, four eyes, a concurrent change, "
        "or a policy version that diverges between engines approved without "
        "acknowledge_divergence",
        413: "the request body is larger than OKRGOV_MAX_BODY_BYTES (1 MiB by default); it "
        "was not read and nothing was recorded",
        422: "invalid input naming each field, a broken OKR rule, or a guardrail denial "
        "listing each violated rule (the denied attempt is recorded)",
        503: "the read model has not caught up yet, or the guardrail policies could not be "
        "evaluated (nothing was changed); retry after Retry-After seconds",
    }
    return {s: {"model": ErrorBody, "description": described[s]} for s in statuses}


#: The ``responses=`` of the routes, so the OpenAPI document declares every answer.
READ_ERRORS = _errors(401, 403, 404, 413, 422, 503)
WRITE_ERRORS = _errors(401, 403, 404, 409, 413, 422, 503)


#: Exception kinds and their answers, most specific first (a kind answers for its
#: subclasses unless one of them comes earlier).
PROBLEMS: tuple[tuple[type[Exception], Answer], ...] = (
    (RequestValidationError, _validation_problem),
    (DivergenceNotAcknowledged, _divergence_problem),
    (DomainError, _domain_problem),
    (NotFound, _plain(404, "not_found")),
    (Forbidden, _plain(403, "forbidden")),
    (Conflict, _plain(409, "conflict")),
    (GuardrailViolation, _guardrail_problem),
    (PolicyTimedOut, _retry_later("policy_timeout")),
    (PolicyUnavailable, _retry_later("policy_unavailable")),
    (PolicyCompileError, _compile_problem),
    (PolicyChecksFailed, _checks_problem),
    (ReviewTimeout, _retry_later("simulation_timeout")),
    (PolicyTimeout, _retry_later("policy_timeout")),
    (ReviewsBusy, _busy_problem),
    (OpaUnavailable, _plain(503, "policy_engine_unavailable")),
    (PolicyError, _retry_later("policy_unavailable")),
    (ProjectionBehind, _retry_later("projection_behind")),
    (Unauthenticated, _plain(401, "unauthenticated", {"WWW-Authenticate": "Bearer"})),
    (IdentityProviderUnavailable, _retry_later("identity_provider_unavailable")),
    (PayloadTooLarge, _too_large_problem),
    (HTTPException, _http_problem),
)
