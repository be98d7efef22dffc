"""The input document of one command for the guardrail policies (see policies/README.md):
who acts, on what, the resource before and after, the context the rules read, and what
the people directory says of the people it names (their job role: the conduct rule reads
it there, so a person's role is the directory's, not a list kept in the policy's data)."""

from collections.abc import Callable, Iterable
from typing import Any, TypedDict, Unpack
from uuid import UUID

from events import ChangeRequest, Cycle, KeyResult, Objective, clock
from policies.input_values import cycle_summary, locked_key_result, resource_words
from services.application.people import Person
from services.application.principals import Principal

Doc = dict[str, Any]

FindsPerson = Callable[[str], Person | None]
"""The directory's lookup of one user id (``Directory.find``)."""


def key_result_doc(key_result: KeyResult) -> Doc:
    latest = key_result.check_ins[-1] if key_result.check_ins else None
    return {
        "id": str(key_result.id),
        "objective_id": str(key_result.objective_id),
        **key_result.definition,
        "status": "retired" if key_result.retired else "active",
        "confidence": latest[1] if latest else None,
        "value": latest[0] if latest else None,
    }


def objective_doc(objective: Objective) -> Doc:
    return {
        "id": str(objective.id),
        "title": objective.title,
        "description": objective.description,
        "owner": objective.owner,
        "level": objective.level.value,
        "commitment": objective.commitment.value,
        "parent_id": str(objective.parent_id) if objective.parent_id else None,
    }


def cycle_doc(cycle: Cycle) -> Doc:
    return {"id": str(cycle.id), "name": cycle.name, "state": cycle.state.value}


def change_request_doc(request: ChangeRequest) -> Doc:
    return {
        "id": str(request.id),
        "kind": request.kind.value,
        "target": {"kind": request.target_kind.value, "id": str(request.target_id)},
        "key_result_id": str(request.key_result_id) if request.key_result_id else None,
        "objective_id": str(request.objective_id) if request.objective_id else None,
        "requester": request.requester,
        "status": request.status.value,
        "changes": request.changes,
        "retire": request.retire,
    }


class Context(TypedDict, total=False):
    """What the rules read beside the resource: the objective and cycle it sits in, its
    sibling key results, every key result of the cycle (to lock it), the change request."""

    objective: Objective | None
    cycle: Cycle | None
    siblings: Iterable[KeyResult]
    cycle_key_results: Iterable[KeyResult]
    change_request: ChangeRequest | None
    people: FindsPerson | None
    """Where the people the document names are looked up (none: ``people`` is empty)."""


def people_doc(document: Doc, find: FindsPerson | None) -> Doc:
    """user id -> {"job_role", "active"} for the people the rules read of a document (the
    actor, and the owners of the resource before and after, of its objective and of its
    siblings), as the directory has them; people it does not know are left out. Only
    those, so a decision records what it was judged on and no more."""
    if find is None:
        return {}
    resource = document["resource"]
    named = [document["actor"]["id"]]
    for definition in (resource["before"], resource["after"], document["objective"],
                       *document["siblings"]):  # fmt: skip
        if isinstance(definition, dict):
            named.append(definition.get("owner"))
    found: Doc = {}
    for user in sorted({u for u in named if isinstance(u, str) and u}):
        person = find(user)
        if person is not None:
            found[user] = {"job_role": person.job_role or None, "active": person.active}
    return found


def build_input(
    action: str,
    principal: Principal,
    kind: str,
    ident: UUID | None,
    before: Doc | None,
    after: Doc | None,
    **context: Unpack[Context],
) -> Doc:
    objective, cycle = context.get("objective"), context.get("cycle")
    change_request = context.get("change_request")
    cycle_key_results = [
        locked_key_result(
            str(k.id), str(k.objective_id), k.check_ins[-1][1] if k.check_ins else None
        )
        for k in context.get("cycle_key_results", ())
    ]
    document: Doc = {
        "action": action,
        "actor": {"id": principal.user, "roles": sorted(r.value for r in principal.roles)},
        "resource": {
            "kind": kind,
            "id": str(ident) if ident else None,
            "before": before,
            "after": after,
            "words": resource_words(after),
        },
        "objective": objective_doc(objective) if objective else None,
        "siblings": [key_result_doc(k) for k in context.get("siblings", ())],
        "cycle": cycle_doc(cycle) if cycle else None,
        "cycle_key_results": cycle_key_results,
        "change_request": change_request_doc(change_request) if change_request else None,
        # The time the command is judged at: the clock its events are stamped from.
        "time": clock.now().isoformat(),
    }
    if cycle_key_results:  # a lock: what the rules sum up, summed up once here
        document["cycle_summary"] = cycle_summary(cycle_key_results)
    document["people"] = people_doc(document, context.get("people"))
    return document
