"""The console's request dependencies: the API's own (``services.api.deps``), with the
principal taken from the console's session instead of a bearer token. A page waits for
the same views, under the same read-your-writes rule, as the API route it mirrors."""

from typing import Annotated

from fastapi import Depends, Request

from projections.runner import AUDIT, GOVERNANCE, OKR_STATE
from services.api.deps import Command, PlatformDep, Reads, command, reads
from services.application.principals import Principal
from services.console.session import principal_of


async def session_principal(request: Request, platform: PlatformDep) -> Principal:
    """The signed-in person; ``SignInRequired`` (a redirect to the sign-in page) if none."""
    return principal_of(request, platform)


ConsolePrincipal = Annotated[Principal, Depends(session_principal)]
#: Pages of cycles, objectives, key results and change requests.
OkrPage = Annotated[Reads, Depends(reads(OKR_STATE, who=session_principal))]
#: Pages of policy versions and decisions.
GovernancePage = Annotated[Reads, Depends(reads(GOVERNANCE, who=session_principal))]
#: Pages that join the OKR state and the governance view (a key result's history).
OkrGovernancePage = Annotated[Reads, Depends(reads(OKR_STATE, GOVERNANCE, who=session_principal))]
#: The audit trail.
AuditPage = Annotated[Reads, Depends(reads(AUDIT, who=session_principal))]
#: The compliance views.
CompliancePage = Annotated[
    Reads, Depends(reads(OKR_STATE, GOVERNANCE, AUDIT, who=session_principal))
]
#: Form posts answered from the OKR state.
OkrForm = Annotated[Command, Depends(command(OKR_STATE, who=session_principal))]
#: Form posts answered from the governance view (policy versions).
PolicyForm = Annotated[Command, Depends(command(GOVERNANCE, who=session_principal))]
