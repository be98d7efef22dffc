"""Request dependencies as ``Annotated`` aliases, so a route reads like the domain:
who acts (``CurrentPrincipal``), what they see (``OkrReads``, ``GovernanceReads``,
``AuditReads``, ``ComplianceReads``) and how a command's effect comes back to them
(``Commands``, ``PolicyCommands``).

Read-your-writes. The ledger records an event at a store position; each view (the OKR
state, the governance view, the audit trail, the leaf log) catches up a moment later, at
its own pace. So that a client never reads a state older than its own write:

* every write waits (bounded) until the views its answer reads have reached the position
  it recorded, answers with the resulting document and the header
  ``X-Okrgov-Position: N``, and the platform remembers N as that user's last write;
* every read first waits, in the views it reads, for that user's last write, and for
  ``X-Okrgov-Min-Position: N`` when the client sends it (to carry the guarantee across
  processes or users: send the position of a write you have seen answered);
* if a view does not get there within ``read_wait_seconds`` the answer is 503 with
  ``Retry-After``; nothing is ever read from a view older than the caller's last write.

Which views a route waits for is declared once, in the dependency it takes
(``reads(OKR_STATE)``, ``command(GOVERNANCE)``), and what it is handed holds only those
views: reading another is ``UndeclaredView`` (a server error a test meets at once), never
a silently stale answer. No write waits for the audit trail or the leaf log: no write's
answer reads them.
"""

from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, cast

import structlog
from fastapi import Depends, Header, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from events.errors import InvalidValue
from infra.persistence import MAX_POSITION
from infra.provider_tokens import ProviderUnavailable
from infra.tokens import InvalidToken
from projections.documents import DocumentView
from projections.entries import EntryView
from projections.queries import GovernanceQueries, OkrQueries
from projections.runner import AUDIT, GOVERNANCE, OKR_STATE
from services.api.errors import (
    POSITION_HEADER,
    WRITE_ERRORS,
    IdentityProviderUnavailable,
    Unauthenticated,
)
from services.application.errors import ProjectionBehind
from services.application.ledger import Ledger, Recorded
from services.application.principals import Principal
from services.bootstrap import Platform

MIN_POSITION_HEADER = "X-Okrgov-Min-Position"
T = TypeVar("T")

log = structlog.get_logger(__name__)


class PositionNotRecorded(InvalidValue):
    """A client waits for a position the store has not reached: well formed, but about a
    state that does not exist (so not ``validation_error``: the schema cannot know it)."""

    rule = "position_not_recorded"


bearer = HTTPBearer(auto_error=False, description="a token from `okrgov token create`")


# The dependencies that only look something up are ``async def``: FastAPI runs a plain
# ``def`` dependency in a worker thread, a hop per dependency per request that cost a third
# of the HTTP layer's own time. Only what blocks (waiting for a view, a ledger command)
# goes to a thread.


async def get_platform(request: Request) -> Platform:
    return cast(Platform, request.app.state.platform)


PlatformDep = Annotated[Platform, Depends(get_platform)]


async def current_principal(
    request: Request,
    platform: PlatformDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The user and roles of the bearer token; 401 when it is missing or does not verify.
    Kept on the request too, so a refusal that recorded something (a denied attempt) can
    count as the caller's write. Verifying okrgov's token is a signature check in memory
    (the list of issued tokens is refreshed at most every ``token_refresh_seconds``), so it
    runs on the event loop; the provider's may read its keys over HTTP, so in a thread. A
    provider that cannot be reached is 503 (try again), never a way in."""
    if credentials is None:
        raise Unauthenticated("send Authorization: Bearer <token>")
    authentication, token = platform.authentication, credentials.credentials
    try:
        if authentication.by_provider(token):  # may read the provider's keys over HTTP
            principal = await run_in_threadpool(authentication.provider_principal, token)
        else:
            principal = authentication.okrgov_principal(token)
    except ProviderUnavailable as exc:
        log.warning("auth.provider_unavailable", reason=str(exc))
        raise IdentityProviderUnavailable(
            "the identity provider could not be reached to check the token; try again"
        ) from None
    except (InvalidToken, ValueError) as exc:  # ValueError: a role this version does not know
        # Why a token is refused is for the operator's log, not for whoever presented it.
        log.info("auth.refused", reason=str(exc))
        raise Unauthenticated("the bearer token is not valid") from None
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class UndeclaredView(RuntimeError):
    """A route read a view its dependency did not wait for: a bug, whose answer could be
    older than the caller's own write. Declare the view (``reads(...)``, ``command(...)``)."""


class Reads:
    """The views a request waited for, and the questions asked of them
    (``projections.queries``); any other view is ``UndeclaredView``."""

    def __init__(
        self, views: Mapping[str, DocumentView], warnings: Sequence[dict[str, str]] = ()
    ) -> None:
        self._views = dict(views)
        self.warnings = list(warnings)

    def _waited(self, name: str) -> DocumentView:
        view = self._views.get(name)
        if view is None:
            raise UndeclaredView(
                f"the route read the {name} view without waiting for it; it waited for "
                f"{', '.join(self._views)}"
            )
        return view

    @property
    def okr(self) -> OkrQueries:
        """The OKR state: cycles, objectives, key results, change requests."""
        return OkrQueries(self._waited(OKR_STATE), self.warnings)

    @property
    def governance(self) -> GovernanceQueries:
        """Policy versions and guardrail decisions."""
        return GovernanceQueries(self._waited(GOVERNANCE))

    @property
    def audit(self) -> EntryView:
        view = self._waited(AUDIT)
        assert isinstance(view, EntryView)
        return view


MinPosition = Annotated[
    int,
    Header(
        alias=MIN_POSITION_HEADER,
        ge=0,
        le=MAX_POSITION,
        description="wait until the view reflects at least this event position "
        "(0: only this caller's own last write)",
    ),
]


#: How a route learns who acts: the bearer token (the API), or the console's session.
Identify = Callable[..., Coroutine[Any, Any, Principal]]


def reads(
    *views: str, who: Identify = current_principal
) -> Callable[[Platform, Principal, int], Reads]:
    """The dependency of a read route whose answer reads ``views``: it waits for them,
    and only them, to reach the caller's last write and ``X-Okrgov-Min-Position``.
    ``who`` says how the caller is known (the console passes its session's)."""
    if not views:
        raise ValueError("name the views the route reads")

    def fresh_reads(
        platform: PlatformDep,
        principal: Annotated[Principal, Depends(who)],
        min_position: MinPosition = 0,
    ) -> Reads:
        """The views as this caller must see them: at or after its last write and
        ``min_position``. Any role may read; a token without roles reads nothing."""
        principal.require_reader()
        head: int | None = None
        if min_position or platform.settings.api_processes > 1:
            head = platform.ledger.recorder.max_notification_id() or 0
        if head is not None and min_position > head:
            # A position not recorded yet would only ever time out: say so at once.
            raise PositionNotRecorded(
                f"no event has been recorded at position {min_position} yet",
                field=MIN_POSITION_HEADER,
            )
        if platform.settings.api_processes > 1 and head is not None:
            # Another process may have answered this caller's last write: wait for
            # everything recorded before this read began, which includes it.
            min_position = max(min_position, head)
        platform.wait_for(principal.user, min_position, views=views)
        return Reads(_views(platform, views))

    return fresh_reads


def _views(platform: Platform, names: Iterable[str]) -> dict[str, DocumentView]:
    return {name: platform.projections.view(name) for name in names}


#: Reads of cycles, objectives, key results and change requests.
OkrReads = Annotated[Reads, Depends(reads(OKR_STATE))]
#: Reads of policy versions and guardrail decisions.
GovernanceReads = Annotated[Reads, Depends(reads(GOVERNANCE))]
#: Reads of the audit trail.
AuditReads = Annotated[Reads, Depends(reads(AUDIT))]
#: The compliance views join the OKR state, the policies and decisions, and the trail.
ComplianceReads = Annotated[Reads, Depends(reads(OKR_STATE, GOVERNANCE, AUDIT))]


@dataclass
class Command:
    """A write on behalf of the caller: run a ledger command, then ``settle`` its result,
    answered from ``views`` (the only views the write waits for)."""

    platform: Platform
    principal: Principal
    response: Response
    views: tuple[str, ...]

    @property
    def ledger(self) -> Ledger:
        return self.platform.ledger

    async def answer(
        self, run: Callable[[Ledger, Principal], Recorded], read: Callable[["Reads", Recorded], T]
    ) -> T:
        """Run a ledger command, ``settle`` it and read its answer, all in one worker
        thread (the command and the wait block); the route is ``async def`` so that
        FastAPI validates and serialises the answer on the event loop instead of in a
        second thread."""

        def command() -> T:
            done = run(self.ledger, self.principal)
            return read(self.settle(done), done)

        return await run_in_threadpool(command)

    def settle(self, recorded: Recorded) -> Reads:
        """Wait until the views the answer reads show this write, so the answer and this
        user's next read include it; the position goes back to the client in
        ``X-Okrgov-Position``. The other views (the audit trail, the leaf log) catch up
        on their own; this user's next read of them waits for them then."""
        user, position = self.principal.user, recorded.position
        self.platform.wrote(user, position)
        try:
            self.platform.wait_for(user, position, views=self.views)
        except ProjectionBehind as exc:
            raise ProjectionBehind(
                f"the change was recorded at position {position}, but {exc}; read it later "
                f"with {MIN_POSITION_HEADER}: {position}"
            ) from exc
        self.response.headers[POSITION_HEADER] = str(position)
        return Reads(_views(self.platform, self.views), recorded.warnings)


def command(
    *views: str, who: Identify = current_principal
) -> Callable[[Platform, Principal, Response], Coroutine[Any, Any, Command]]:
    """The dependency of a write route whose answer reads ``views``; ``who`` as in
    ``reads``."""
    if not views:
        raise ValueError("name the views the answer reads")

    async def for_caller(
        platform: PlatformDep, principal: Annotated[Principal, Depends(who)], response: Response
    ) -> Command:
        return Command(platform, principal, response, views)

    return for_caller


#: Writes answered from the OKR state: cycles, objectives, key results, change requests.
Commands = Annotated[Command, Depends(command(OKR_STATE))]
#: Writes answered from the governance view: policy versions.
PolicyCommands = Annotated[Command, Depends(command(GOVERNANCE))]


def written(status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a write route: its errors, and the position header it sets."""
    header = {
        "description": "the event position this write was recorded at",
        "schema": {"type": "integer"},
    }
    return {status: {"headers": {POSITION_HEADER: header}}, **WRITE_ERRORS}
