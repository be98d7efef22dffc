"""The people directory, readable by the people it serves: ``GET /v1/people`` (filtered
by ``active`` and ``team``) and ``GET /v1/people/{user_id}`` with the person's directory
history. Compliance, executives, risk officers and admins read everyone; anyone else
their own entry (``services.application.directory_reads``). Names are the directory's
now, never copies."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from events.errors import InvalidValue, NotFound
from events.identity import InvalidUserId, canonical_user_id
from projections.runner import AUDIT
from services.api.deps import AuditReads, CurrentPrincipal, PlatformDep
from services.api.errors import READ_ERRORS
from services.api.schemas.people import People, PeopleFilter, PersonPage
from services.application import directory_reads
from services.application.people import Person
from services.application.principals import Principal
from services.bootstrap import Platform

router = APIRouter(prefix="/v1", tags=["people"])


def person_document(person: Person) -> dict[str, Any]:
    return {
        "user_id": person.user_id,
        "name": person.name,
        "email": person.email,
        "job_role": person.job_role,
        "team": person.team,
        "title": person.title,
        "groups": list(person.groups),
        "active": person.active,
        "external_id": person.external_id,
    }


def history_document(platform: Platform, reads_audit: Any, user_id: str) -> list[dict[str, Any]]:
    """The person's directory history, each change's actor named as the directory names
    them now (``ProjectionBehind``, a 503, if the audit trail cannot catch up in time)."""
    # The audit trail catches up with the store a moment later: wait until it holds every
    # directory event this process knows of, so the history never lags the entry above it.
    platform.wait_for("", platform.directory.position, views=[AUDIT])
    names = platform.names
    return [
        {
            "position": entry["position"],
            "at": entry["at"],
            "actor": entry["actor"],
            "actor_name": names.get(entry["actor"]) if entry["actor"] else None,
            "action": entry["action"],
            "group": entry["details"].get("group"),
            "changes": entry["changes"],
            "reason": entry["reason"],
        }
        for entry in directory_reads.history(platform.directory, reads_audit, user_id)
    ]


def user_id_of(text: str) -> str:
    """The path's user id, canonical; 422 naming ``user_id`` for one that is no user id."""
    try:
        return canonical_user_id(text)
    except InvalidUserId as exc:
        raise InvalidValue(f"user_id: {exc}", field="user_id") from None


@router.get("/people", response_model=People, responses=READ_ERRORS)
def list_people(
    platform: PlatformDep, principal: CurrentPrincipal, query: Annotated[PeopleFilter, Query()]
) -> dict[str, Any]:
    """Everyone in the directory, by user id, the deactivated too (``?active=false``: only
    them). Compliance, executives, risk officers and admins see everyone; anyone else
    their own entry."""
    found = directory_reads.listed(principal, platform.people, query.active, query.team)
    return {"items": [person_document(p) for p in found]}


def _reader_of_path(user_id: str, principal: CurrentPrincipal) -> Principal:
    """Refused before the read waits: a member asking for someone else is 403 at once."""
    directory_reads.require_reader_of(principal, user_id_of(user_id))
    return principal


@router.get(
    "/people/{user_id}",
    response_model=PersonPage,
    responses=READ_ERRORS,
    dependencies=[Depends(_reader_of_path)],
)
def get_person(user_id: str, platform: PlatformDep, reads: AuditReads) -> dict[str, Any]:
    """One person with their directory history: every change of their record and of
    their group memberships, who made it and when, oldest first."""
    user = user_id_of(user_id)
    person = platform.directory.find(user)
    if person is None:
        raise NotFound("person", user)
    return {**person_document(person), "history": history_document(platform, reads.audit, user)}
