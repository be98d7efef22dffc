"""Property-based runs over the API's own OpenAPI document (schemathesis): generated valid
(positive) and invalid (negative) requests per operation, and stateful sequences that feed
each answer's ids into the next request. No answer is a server error; every answer
(status, headers, content type, body) is one the document declares; an invalid request is
refused; and a request the document calls valid is never refused for its shape
(``schema_valid_request_accepted``: no 400, no 422 ``validation_error``).

Generated ids are random, so half of the well-formed ones are swapped for the seeded
cycle, objective and key result: the run then also reaches the domain's rules (lock,
measurability, ownership) instead of stopping at 404."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.api.routes import ROUTERS

MAX_EXAMPLES = 15
AuthHeaders = Callable[..., dict[str, str]]


@schemathesis.check
def schema_valid_request_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """A request the document says is valid is never refused for its shape: a 400, or a
    422 whose code is ``validation_error``, answering generated valid data means the
    document and the server disagree. (A 422 for a business rule, such as a guardrail
    denial or a target equal to its baseline, is the domain speaking, not the schema.)"""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code == 400 or (
        response.status_code == 422
        and response.json()["error"]["code"] == "validation_error"
        and not _cross_field_rule(response.json()["error"])
    ):
        raise AssertionError(
            f"schema-valid request rejected: {case.method} {case.formatted_path} "
            f"{response.status_code} {response.text[:500]}"
        )
    return None


#: Rules between two fields that an OpenAPI schema cannot state, so generated "valid" data
#: may break them: the audit window's order, and a revision or change request that
#: changes nothing. The server refusing those is right; any other refusal is not.
CROSS_FIELD_MESSAGES = ("until must be later than since", "give a new title or description")
CROSS_FIELD_RULES = ("changes_or_retire",)


def _cross_field_rule(error: dict[str, Any]) -> bool:
    details = error.get("details") or ()
    return bool(details) and all(
        detail.get("rule") in CROSS_FIELD_RULES
        or any(text in str(detail.get("message", "")) for text in CROSS_FIELD_MESSAGES)
        for detail in details
    )


CHECKS = [
    schema_valid_request_accepted,
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
SEEDED = {
    "cycle_id": "cycle",
    "parent_id": "objective",
    "objective_id": "objective",
    "key_result_id": "key_result",
}

#: (method, path) of every route, known without a running platform.
OPERATIONS = sorted(
    (method, route.path)
    for router in ROUTERS
    for route in router.routes
    if isinstance(route, APIRoute)
    for method in route.methods or ()
)


def seeded(values: Any, world: dict[str, str]) -> Any:
    """Swap about half of the well-formed generated ids for ids that exist."""
    if not isinstance(values, dict):
        return values
    swapped = dict(values)
    for name, value in values.items():
        if name in SEEDED and _even_uuid(value):
            swapped[name] = world[SEEDED[name]]
    return swapped


def _even_uuid(value: Any) -> bool:
    try:
        return uuid.UUID(str(value)).int % 2 == 0
    except ValueError:
        return False


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_api_answers_as_documented(
    app: FastAPI,
    auth: AuthHeaders,
    world: dict[str, str],
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # The token is the fixture's to give: do not generate (or negate) Authorization.
    schema.config.generation.update(with_security_parameters=False)
    operation = schema[path][method]
    executive = auth("priya", "executive")

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case: Any) -> None:
        case.path_parameters = seeded(case.path_parameters, world)
        case.query = seeded(case.query, world)
        case.body = seeded(case.body, world)
        case.call_and_validate(headers=executive, checks=CHECKS)

    answers_as_documented()


def test_health_answers_as_documented(app: FastAPI) -> None:
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)["/healthz"]["GET"]
    operation.Case().call_and_validate(checks=CHECKS)


#: Scenarios and steps of the stateful phase (schemathesis follows the links it infers from
#: the document: a cycle opened, then an objective in it, a key result under that...).
STATEFUL_EXAMPLES = 25
STATEFUL_STEPS = 12


_opened = itertools.count(1)


def unique_cycle_name(case: Any) -> None:
    """Give each cycle the phase opens a name of its own. Cycle names are unique and the
    server keeps its store across examples, so hypothesis replaying an example would find
    its cycle's name taken (409) where the first run opened it (201): the state machine's
    rules would then depend on what an earlier example left, which hypothesis refuses."""
    if case.method == "POST" and case.path == "/v1/cycles" and isinstance(case.body, dict):
        name = case.body.get("name")
        if isinstance(name, str):
            case.body["name"] = f"{name[:180]} #{next(_opened)}"


def test_stateful_sequences_answer_as_documented(app: FastAPI, auth: AuthHeaders) -> None:
    """Schemathesis's stateful phase: sequences of calls that feed each answer's ids into
    the next request, as an executive: no server error, every answer declared, nothing the
    document calls valid refused for its shape."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(with_security_parameters=False)
    workflow = schema.as_state_machine()
    calls: list[str] = []

    class Workflow(workflow):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            calls.append(f"{case.method} {case.path}")
            unique_cycle_name(case)
            # A token of its own for each call: the phase may revoke the token it was given
            # (an executive may revoke their own), and every later call would then answer
            # 401 where the first run of the example had gone on.
            return {"headers": auth("priya", "executive")}

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # The phase really ran sequences across the API (links inferred, ids fed forward).
    assert len(calls) >= STATEFUL_EXAMPLES * 3
    assert len(set(calls)) >= 20, sorted(set(calls))
