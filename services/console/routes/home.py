"""The console's front page. (The Monday page replaces this placeholder.)"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.console.deps import OkrPage
from services.console.templating import render

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("")
def home(request: Request, reads: OkrPage) -> Response:
    return render(request, "home.html", {"cycles": reads.okr.cycles()})
