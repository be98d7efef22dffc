"""The compliance views: questions a compliance officer, an executive or a risk officer
asks of the record, answered from the read models (OKR state, governance) and the audit
trail's entries, each filtered by the database where it can be.

Over 300 lines on purpose: the compliance questions share their filters and their
wording of a finding; each is a method of one class of views."""

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from events import ChangeRequestStatus
from events.identity import SYSTEM
from events.values import ChangeKind, TargetKind
from projections.audit import DECISION
from projections.documents import Document, DocumentView
from projections.entries import Entry, EntryQuery, EntryView
from projections.okr_state import CHANGE_REQUEST, CYCLE, KEY_RESULT, with_target

#: A key result silent for longer than this in an active cycle is stale.
STALE_AFTER = timedelta(days=7)
#: The shipped bundle is recorded as version 1 by the platform itself, proposer and
#: approver alike: the one activation exempt from four eyes.
SEED_ACTOR = SYSTEM
#: The event that records what an approved request for an addition added.
ADDITIONS = {
    ChangeKind.ADD_KEY_RESULT: "KeyResult.Added",
    ChangeKind.ADD_OBJECTIVE: "Objective.Created",
}
#: The events that apply an approved change request, by what its target is.
APPLICATIONS = {
    TargetKind.KEY_RESULT: ("KeyResult.Revised", "KeyResult.Retired"),
    TargetKind.OBJECTIVE: ("Objective.Amended", "Objective.Retired"),
}
#: The views, by the name ``GET /v1/compliance/{view}`` knows them by.
VIEWS = (
    "violations",
    "changes-after-lock",
    "approvals",
    "pay-linked",
    "over-appetite",
    "policy-periods",
    "stale-check-ins",
)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


class ComplianceViews:
    """One method per view; each answers a document the API returns as it is."""

    def __init__(self, okr_state: DocumentView, governance: DocumentView, audit: EntryView):
        self.okr_state = okr_state
        self.governance = governance
        self.audit = audit

    # ---- denied attempts and warnings ----------------------------------------------------

    def violations(self) -> Document:
        """Every decision that denied a command or warned about one, tallied by rule and
        by actor."""
        items = [_flagged(e) for e in self.audit.pages(EntryQuery(action=DECISION, flagged=True))]
        rules: dict[str, Counter[str]] = defaultdict(Counter)
        rule_actors: dict[str, set[str]] = defaultdict(set)
        actors: dict[str | None, Counter[str]] = defaultdict(Counter)
        actor_rules: dict[str | None, Counter[str]] = defaultdict(Counter)
        for item in items:
            for severity in ("deny", "warn"):
                for violation in item[severity]:
                    rules[violation["rule"]][severity] += 1
                    rule_actors[violation["rule"]].add(item["actor"] or "")
                    actor_rules[item["actor"]][violation["rule"]] += 1
            actors[item["actor"]]["deny"] += bool(item["deny"])
            actors[item["actor"]]["warn"] += bool(item["warn"])
        return {
            "view": "violations",
            "denied": sum(bool(i["deny"]) for i in items),
            "warned": sum(bool(i["warn"]) for i in items),
            "by_rule": [
                {
                    "rule": rule,
                    "denied": counts["deny"],
                    "warned": counts["warn"],
                    "actors": sorted(rule_actors[rule]),
                }
                for rule, counts in sorted(rules.items())
            ],
            "by_actor": [
                {
                    "actor": actor,
                    "denied": counts["deny"],
                    "warned": counts["warn"],
                    "rules": dict(sorted(actor_rules[actor].items())),
                }
                for actor, counts in sorted(actors.items(), key=lambda a: a[0] or "")
            ],
            "items": items,
        }

    # ---- changes after lock --------------------------------------------------------------

    def changes_after_lock(self) -> Document:
        """Every change applied through an approved change request: to a key result or an
        objective, or a key result or objective added."""
        items = []
        for request in self.okr_state.find_where(
            CHANGE_REQUEST, {"status": ChangeRequestStatus.APPLIED}
        ):
            request = with_target(request)
            applied = self._applied_change(request)
            target = self._target(request, applied)
            changed = _changed_kind(request)
            items.append(
                {
                    "change_request_id": request["id"],
                    "kind": request["kind"],
                    "target_kind": request["target_kind"],
                    "target_id": request["target_id"],
                    "key_result_id": target["id"]
                    if target and changed == TargetKind.KEY_RESULT
                    else request["key_result_id"],
                    "key_result_title": target["title"]
                    if target and changed == TargetKind.KEY_RESULT
                    else None,
                    "title": target["title"] if target else None,
                    "objective_id": target.get("objective_id", target["id"]) if target else None,
                    "cycle_id": target["cycle_id"] if target else None,
                    "requested_by": request["requested_by"],
                    "requested_at": request["requested_at"],
                    "reason": request["reason"],
                    "approved_by": request["decided_by"],
                    "approved_at": request["decided_at"],
                    "approval_reason": request["decision_reason"],
                    "retire": request["retire"],
                    "changes": applied["changes"] if applied else {},
                    "applied_at": applied["at"] if applied else None,
                    "position": applied["position"] if applied else None,
                    **_decision_ref(applied),
                }
            )
        items.sort(key=lambda i: i["position"] or 0)
        return {"view": "changes-after-lock", "items": items}

    def _applied_change(self, request: Document) -> Entry | None:
        """The audit entry of the change the request applied; for an addition, of the new
        key result or objective (recorded in the save that approved it, so not before)."""
        kind = request["kind"]
        if kind in ADDITIONS:
            query = EntryQuery(action=ADDITIONS[kind], since=_moment(request["decided_at"]))
        else:
            actions = APPLICATIONS[request["target_kind"]]
            query = EntryQuery(aggregate_id=request["target_id"], actions=actions)
        for entry in self.audit.pages(query):
            if entry["details"].get("change_request_id") == request["id"]:
                return entry
        return None

    def _target(self, request: Document, applied: Entry | None) -> Document | None:
        """The key result or objective the request changed or added, as it is now."""
        if request["kind"] in ADDITIONS:
            if applied is None:
                return None
            return self.okr_state.get(_changed_kind(request), applied["aggregate_id"])
        return self.okr_state.get(request["target_kind"], request["target_id"])

    # ---- four eyes -----------------------------------------------------------------------

    def approvals(self) -> Document:
        """Who proposed and who approved each policy activation; who requested and who
        decided each change request."""
        activations = [
            {
                "policy_id": p["id"],
                "number": p["number"],
                "digest": p["digest"],
                "proposed_by": p["proposed_by"],
                "proposed_at": p["proposed_at"],
                "approved_by": p["approved_by"],
                "approved_at": p["approved_at"],
                "four_eyes": p["proposed_by"] != p["approved_by"],
                "seeded": p["proposed_by"] == p["approved_by"] == SEED_ACTOR,
                "divergence_acknowledgement": p.get("divergence_acknowledgement"),
            }
            for p in self._policies()
            if p["approved_by"] is not None
        ]
        requests = []
        for r in map(with_target, self.okr_state.find(CHANGE_REQUEST)):
            decided = r["decided_by"] is not None
            requests.append(
                {
                    "change_request_id": r["id"],
                    "kind": r["kind"],
                    "target_kind": r["target_kind"],
                    "target_id": r["target_id"],
                    "key_result_id": r["key_result_id"],
                    "requested_by": r["requested_by"],
                    "requested_at": r["requested_at"],
                    "status": r["status"],
                    "decision": (
                        ChangeRequestStatus.REJECTED
                        if r["status"] == ChangeRequestStatus.REJECTED
                        else ChangeRequestStatus.APPROVED
                    )
                    if decided
                    else None,
                    "decided_by": r["decided_by"],
                    "decided_at": r["decided_at"],
                    "four_eyes": r["decided_by"] != r["requested_by"] if decided else None,
                }
            )
        breaches = sum(not a["four_eyes"] and not a["seeded"] for a in activations) + sum(
            r["four_eyes"] is False for r in requests
        )
        return {
            "view": "approvals",
            "breaches": breaches,
            "policy_activations": activations,
            "change_requests": requests,
        }

    # ---- pay-linked and above appetite ---------------------------------------------------

    def pay_linked(self) -> Document:
        appetite = self._appetite()
        return {
            "view": "pay-linked",
            "key_results": [
                _flagged_key_result(kr, appetite)
                for kr in self.okr_state.find_where(KEY_RESULT, present=["pay_linked"])
            ],
            "denied_attempts": self._denied_by("pay_linked"),
        }

    def over_appetite(self) -> Document:
        """Key results rated above the active policy's appetite for their risk domain (or
        rated in a domain it sets no appetite for)."""
        active = self._active_policy()
        appetite = self._appetite()
        rated = self.okr_state.find_where(KEY_RESULT, present=["risk_rating"])
        return {
            "view": "over-appetite",
            "policy_version": active["number"] if active else None,
            "risk_appetite": appetite,
            "key_results": [
                _flagged_key_result(kr, appetite)
                for kr in rated
                if not isinstance(appetite.get(kr.get("risk_domain") or ""), int | float)
                or kr["risk_rating"] > appetite[kr["risk_domain"]]
            ],
            "denied_attempts": self._denied_by("risk_appetite"),
        }

    def _denied_by(self, rule: str) -> list[Document]:
        attempts = []
        for d in self.governance.find("decision", "denied"):
            messages = [v["message"] for v in d["deny"] if v["rule"] == rule]
            if messages:
                attempts.append(
                    {
                        "decision_id": d["id"],
                        "position": d["position"],
                        "at": d["at"],
                        "actor": d["actor"],
                        "command": d["action"],
                        "target_kind": d["target_kind"],
                        "target_id": d["target_id"],
                        "policy_version": d["policy_version"],
                        "messages": messages,
                    }
                )
        return sorted(attempts, key=lambda a: int(a["position"]))

    # ---- policy periods ------------------------------------------------------------------

    def policy_periods(self) -> Document:
        """Which policy version was active from when until when (null: still active).
        Periods are half-open and follow one another: a version is active until the
        moment its successor was approved, the same save that retired it."""
        periods = []
        for p in self._policies():
            if p["approved_at"] is None:
                continue
            query = EntryQuery(aggregate_id=p["id"], action="PolicyVersion.Approved")
            approval = self.audit.latest(query)
            periods.append(
                {
                    "policy_id": p["id"],
                    "number": p["number"],
                    "digest": p["digest"],
                    "description": p["description"],
                    "approved_by": p["approved_by"],
                    "active_from": p["approved_at"],
                    "active_until": None,
                    "from_position": approval["position"] if approval else None,
                    "until_position": None,
                    "superseded_by": p["superseded_by"],
                }
            )
        by_number = {period["number"]: period for period in periods}
        for period in periods:
            successor = by_number.get(period["superseded_by"])
            if successor is not None:
                period["active_until"] = successor["active_from"]
                period["until_position"] = successor["from_position"]
        return {"view": "policy-periods", "items": periods}

    def _policies(self) -> list[Document]:
        return sorted(self.governance.find("policy"), key=lambda p: int(p["number"]))

    def _active_policy(self) -> Document | None:
        active = self.governance.find("policy", "active")
        return active[0] if active else None

    def _appetite(self) -> dict[str, Any]:
        active = self._active_policy()
        appetite = (active or {}).get("data", {}).get("risk_appetite", {})
        return dict(appetite) if isinstance(appetite, dict) else {}

    # ---- stale check-ins -----------------------------------------------------------------

    def stale_check_ins(self, as_of: datetime) -> Document:
        """Live key results of the cycles locked (active) as of ``as_of`` whose last
        check-in is more than seven days old then. One never checked in has been silent
        since the lock: silence is never green."""
        cycles = [c for c in self.okr_state.find(CYCLE) if _active(c, as_of)]
        items = []
        for cycle in cycles:
            live = self.okr_state.find_where(
                KEY_RESULT, {"cycle_id": cycle["id"], "status": "active"}
            )
            for kr in live:
                last = self._last_check_in(kr, as_of)
                silent_since = last or _moment(cycle["locked_at"])
                silence = as_of - silent_since
                if silence > STALE_AFTER:
                    items.append(
                        {
                            "key_result_id": kr["id"],
                            "title": kr["title"],
                            "owner": kr["owner"],
                            "objective_id": kr["objective_id"],
                            "cycle_id": cycle["id"],
                            "cycle_name": cycle["name"],
                            "last_check_in_at": last.isoformat() if last else None,
                            "silent_since": silent_since.isoformat(),
                            "days_silent": round(silence.total_seconds() / 86400, 2),
                            "never_checked_in": last is None,
                        }
                    )
        items.sort(key=lambda i: (-i["days_silent"], i["title"], i["key_result_id"]))
        return {
            "view": "stale-check-ins",
            "as_of": as_of.isoformat(),
            "threshold_days": STALE_AFTER.days,
            "cycles": [c["id"] for c in cycles],
            "items": items,
        }

    def _last_check_in(self, kr: Document, as_of: datetime) -> datetime | None:
        """The time of the key result's last check-in at or before ``as_of``."""
        latest = kr.get("latest_check_in")
        if latest is None:
            return None
        at = _moment(latest["at"])
        if at <= as_of:
            return at
        query = EntryQuery(
            aggregate_id=kr["id"],
            action="KeyResult.CheckedIn",
            until=as_of + timedelta(microseconds=1),
        )
        entry = self.audit.latest(query)
        return _moment(entry["at"]) if entry else None


def _changed_kind(request: Document) -> TargetKind:
    """The kind of document the request changed or added."""
    if request["kind"] == ChangeKind.ADD_KEY_RESULT:
        return TargetKind.KEY_RESULT
    if request["kind"] == ChangeKind.ADD_OBJECTIVE:
        return TargetKind.OBJECTIVE
    return TargetKind(request["target_kind"])


def _active(cycle: Document, as_of: datetime) -> bool:
    locked, closed = cycle.get("locked_at"), cycle.get("closed_at")
    return (
        locked is not None
        and _moment(locked) <= as_of
        and (closed is None or _moment(closed) > as_of)
    )


def _flagged(entry: Entry) -> Document:
    details = entry["details"]
    return {
        "decision_id": entry["decision_id"],
        "position": entry["position"],
        "at": entry["at"],
        "actor": entry["actor"],
        "roles": details.get("roles", []),
        "command": details.get("action"),
        "target_kind": details.get("target_kind"),
        "target_id": details.get("target_id"),
        "objective_id": entry["objective_id"],
        "outcome": entry["decision_outcome"],
        "deny": details.get("deny", []),
        "warn": details.get("warn", []),
        "policy_version": entry["policy_version"],
        "policy_digest": entry["policy_digest"],
        "correlation_id": entry["correlation_id"],
    }


def _decision_ref(entry: Entry | None) -> Document:
    columns = ("decision_id", "decision_outcome", "policy_version", "policy_digest")
    return {c: entry[c] if entry else None for c in columns}


def _flagged_key_result(kr: Document, appetite: dict[str, Any]) -> Document:
    return {
        "key_result_id": kr["id"],
        "title": kr["title"],
        "owner": kr["owner"],
        "objective_id": kr["objective_id"],
        "cycle_id": kr["cycle_id"],
        "status": kr["status"],
        "pay_linked": kr["pay_linked"],
        "risk_domain": kr.get("risk_domain"),
        "risk_rating": kr.get("risk_rating"),
        "appetite": appetite.get(kr.get("risk_domain") or ""),
    }
