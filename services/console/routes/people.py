"""The people directory in the console, as ``GET /v1/people`` answers it and under the
same rule (``services.application.directory_reads``): compliance, executives, risk
officers and admins see everyone; anyone else their own entry.

* ``GET /console/people?active=&team=``: name, user id, e-mail, job role, team, groups,
  whether they may act.
* ``GET /console/people/{user_id}``: one person and their directory history (who changed
  what of them, when, from the audit trail).

Names are the directory's as the page is rendered (``who``), never copies."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from events.errors import NotFound
from services.api.deps import PlatformDep
from services.api.routes.people import history_document, user_id_of
from services.api.schemas.people import PeopleFilter
from services.application import directory_reads
from services.application.principals import Principal
from services.console import feedback
from services.console.deps import AuditPage, ConsolePrincipal
from services.console.templating import render

router = APIRouter(prefix="/console", include_in_schema=False)

#: The activity filter's choices: (value, label).
ACTIVITY = (("", "Everyone"), ("true", "Active"), ("false", "Deactivated"))


@router.get("/people")
def people(request: Request, platform: PlatformDep, principal: ConsolePrincipal) -> Response:
    """The directory, filtered as ``GET /v1/people`` filters it (the form's empty choices
    left out)."""
    given = {k: v.strip() for k, v in request.query_params.items() if v.strip()}
    query = feedback.parsed(PeopleFilter, given)
    found = directory_reads.listed(principal, platform.people, query.active, query.team)
    teams = sorted({p.team for p in platform.people.values() if p.team})
    context: dict[str, Any] = {
        "people": found,
        "everyone": directory_reads.reads_everyone(principal),
        "active": "" if query.active is None else str(query.active).lower(),
        "team": query.team or "",
        "teams": teams if directory_reads.reads_everyone(principal) else [],
        "activity": ACTIVITY,
    }
    return render(request, "people.html", context)


def _reader_of_path(user_id: str, principal: ConsolePrincipal) -> Principal:
    """Refused before the page waits for the trail: another person's page is 403 at
    once for anyone but oversight and admins."""
    directory_reads.require_reader_of(principal, user_id_of(user_id))
    return principal


@router.get("/people/{user_id}", dependencies=[Depends(_reader_of_path)])
def person(request: Request, user_id: str, platform: PlatformDep, page: AuditPage) -> Response:
    """One person, and who changed what of them, when."""
    user = user_id_of(user_id)
    found = platform.directory.find(user)
    if found is None:
        raise NotFound("person", user)
    context = {"person": found, "history": history_document(platform, page.audit, user)}
    return render(request, "people_person.html", context)
