"""Questions asked of the read models, answered as documents: the OKR state's cycles (with
their alignment tree), objectives (with their key results), key results and change
requests (with their target); the governance view's policy versions and decisions.

The API answers with them and the console will render them; neither asks a view
directly. A lookup that finds nothing raises ``events.errors.NotFound``. Which view, and
how fresh, is the caller's business (``services.api.deps`` waits for it first)."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

from events.errors import NotFound
from events.values import ChangeRequestStatus
from projections.documents import Document, DocumentView
from projections.governance import DECISION, POLICY
from projections.okr_state import (
    CHANGE_REQUEST,
    CYCLE,
    KEY_RESULT,
    OBJECTIVE,
    alignment_tree,
    with_target,
)

#: The statuses a change request filter means: an approval applies the change in the same
#: save, so an approved request is recorded as "applied" at once.
DECIDED_AS: dict[str, set[str]] = {
    ChangeRequestStatus.APPROVED: {ChangeRequestStatus.APPROVED, ChangeRequestStatus.APPLIED},
}


class OkrQueries:
    """The OKR state, with the warnings of the write being answered (if any) on the
    document it answers with."""

    def __init__(self, view: DocumentView, warnings: Sequence[dict[str, str]] = ()) -> None:
        self.view = view
        self.warnings = list(warnings)

    def one(self, kind: str, ident: UUID) -> Document:
        doc = self.view.get(kind, str(ident))
        if doc is None:
            raise NotFound(kind.replace("_", " "), ident)
        return {**doc, "warnings": self.warnings} if self.warnings else doc

    def cycle(self, ident: UUID) -> Document:
        return self.one(CYCLE, ident)

    def cycles(self) -> list[Document]:
        return self.view.find(CYCLE)

    def cycle_tree(self, ident: UUID) -> Document:
        """The cycle with its objectives nested under their parents."""
        cycle = self.cycle(ident)
        objectives = self._detailed(self.view.find(OBJECTIVE, cycle["id"]))
        return {**cycle, "objectives": alignment_tree(objectives)}

    def objective(self, ident: UUID) -> Document:
        return self._detailed([self.one(OBJECTIVE, ident)])[0]

    def objectives(self, cycle_id: UUID | None) -> list[Document]:
        scope = self.cycle(cycle_id)["id"] if cycle_id else None
        return self._detailed(self.view.find(OBJECTIVE, scope))

    def key_result(self, ident: UUID) -> Document:
        return self.one(KEY_RESULT, ident)

    def change_request(self, ident: UUID) -> Document:
        return with_target(self.one(CHANGE_REQUEST, ident))

    def change_requests(
        self, targets: Sequence[tuple[str, UUID]], status: str | None = None
    ) -> list[Document]:
        """Every change request, or those about all these (existing) key results,
        objectives or cycles, each given as (kind, id): a request has one target; with
        ``status``, only those in it (``DECIDED_AS``: "approved" holds the applied ones)."""
        scopes = {self.one(kind, ident)["id"] for kind, ident in targets}
        if len(scopes) > 1:
            return []
        found = self.view.find(CHANGE_REQUEST, scopes.pop() if scopes else None)
        wanted = DECIDED_AS.get(status, {status}) if status else None
        return [with_target(d) for d in found if wanted is None or d["status"] in wanted]

    def _detailed(self, objectives: Iterable[Document]) -> list[Document]:
        return [{**o, "key_results": self.view.find(KEY_RESULT, o["id"])} for o in objectives]


class GovernanceQueries:
    """Policy versions and the guardrail decisions recorded under them."""

    def __init__(self, view: DocumentView) -> None:
        self.view = view

    def policy(self, ident: UUID) -> Document:
        doc = self.view.get(POLICY, str(ident))
        if doc is None:
            raise NotFound("policy version", ident)
        return doc

    def policies(self) -> list[Document]:
        return sorted(self.view.find(POLICY), key=lambda p: int(p["number"]))

    def active_policy(self) -> Document:
        active = self.view.find(POLICY, "active")
        if not active:
            raise NotFound("policy version", "active")
        return active[0]

    def decisions(
        self, outcome: str | None, actor: str | None, action: str | None, limit: int
    ) -> list[Document]:
        """The latest decisions first, filtered."""
        found = [
            d
            for d in self.view.find(DECISION, outcome)
            if (actor is None or d["actor"] == actor) and (action is None or d["action"] == action)
        ]
        return _latest_first(found, limit)

    def denials(self, since: datetime | None, until: datetime | None, limit: int) -> list[UUID]:
        """The ids of the latest denied decisions recorded at or after ``since`` and before
        ``until`` (the audit trail's bounds), newest first: what a what-if replays."""
        if limit == 0:
            return []
        found = [
            d
            for d in self.view.find(DECISION, "denied")
            if (since is None or datetime.fromisoformat(d["at"]) >= since)
            and (until is None or datetime.fromisoformat(d["at"]) < until)
        ]
        return [UUID(d["id"]) for d in _latest_first(found, limit)]


def _latest_first(decisions: list[Document], limit: int) -> list[Document]:
    return sorted(decisions, key=lambda d: -int(d["position"]))[:limit]
