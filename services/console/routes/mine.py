"""My work: the signed-in person's key results and objectives, in each open cycle and the
last closed one: last value, confidence and its trend, whether checked in this week.

The lists are those of ``GET /v1/key-results?owner=me`` and ``GET /v1/objectives?owner=me``
(``projections.owned``); the rows are ``services.reports.mine_rows``'."""

from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from events import clock
from projections import owned
from projections.check_in_weeks import check_in_weeks
from services.console.deps import ConsolePrincipal
from services.console.routes.monday import MondayPage
from services.console.templating import render
from services.reports import mine_rows

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/mine")
def my_work(request: Request, page: MondayPage, principal: ConsolePrincipal) -> Response:
    today = clock.today()
    work = []
    for cycle in mine_rows.cycles_shown(page.okr.cycles()):
        ident = UUID(cycle["id"])
        key_results = owned.key_results(page.okr, principal.user, ident)
        objectives = owned.objectives(page.okr, principal.user, ident)
        weeks = check_in_weeks(page.audit, sorted({kr["objective_id"] for kr in key_results}))
        work.append(mine_rows.cycle_work(cycle, key_results, objectives, weeks, today))
    return render(request, "mine.html", {"work": work})
