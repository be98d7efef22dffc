# The promises no guardrail version may drop. okrgov runs these tests against every
# proposed version (its modules and its own data) before it can be approved, and refuses a
# version that fails one: a risk officer can change thresholds, word lists and who may
# approve, and add rules, but cannot quietly switch a core guardrail off.
#
# Each test reads the proposal's own settings (its risk appetite, its key-result limit, its
# approver roles), so a version that changes a setting is judged by the setting it brings.
# The rule ids are part of the promise: compliance views and auditors filter on them.
#
# The rules are named by their full path (data.okrgov.guardrails.deny), not through
# `import data.okrgov.guardrails`: regorus 0.13 evaluates a rule reached through such an
# alias as undefined when the rule reads a rule defined further down its own module and
# another module of the package was loaded first (a proposal adding "aum.rego" beside
# "guardrails.rego" would fail every invariant).
package okrgov.invariants_test

import rego.v1

# ---------------------------------------------------------------------------------------
# Inputs, shaped as policies/README.md describes
# ---------------------------------------------------------------------------------------

# The commands that give a key result a definition: adding or revising it, asking for a
# change to it, and approving that request (judged again under the version active then).
definition_actions := ["key_result.add", "key_result.revise", "change_request.request", "change_request.approve"]

# The commands that define what a cycle scores.
scored_actions := [
	"objective.create", "objective.revise", "objective.reown", "objective.realign", "objective.retire",
	"key_result.add", "key_result.revise", "key_result.retire",
]

decision_actions := ["change_request.approve", "change_request.reject"]

known_roles := ["admin", "compliance", "executive", "member", "risk_officer"]

key_result := {
	"title": "Reporting turnaround for the invariant checks",
	"owner": "invariant-owner",
	"unit": "days",
	"baseline": 15,
	"target": 8,
	"direction": "decrease",
	"pay_linked": false,
	"risk_domain": null,
	"risk_rating": null,
	"guardrail_metric": null,
}

objective := {
	"id": "obj-1",
	"title": "Give our investors faster and cleaner reporting",
	"owner": "invariant-owner",
	"level": "team",
	"commitment": "committed",
}

sibling(i) := object.union(key_result, {"id": sprintf("kr-s%d", [i]), "title": sprintf("Sibling measure %d", [i])})

siblings(n) := [sibling(i) | some i in numbers.range(1, n)] if n >= 1

else := []

request(status, target_kind, target_id) := {
	"id": "cr-1",
	"requester": "invariant-requester",
	"status": status,
	"kind": "revise",
	"target": {"kind": target_kind, "id": target_id},
	"key_result_id": legacy_key_result_id(target_kind, target_id),
}

# Requests recorded before they named a target name their key result.
legacy_key_result_id(kind, id) := id if kind == "key_result"

else := null

base := {
	"action": "key_result.add",
	"actor": {"id": "invariant-owner", "roles": ["member"]},
	"resource": {"kind": "key_result", "id": null, "before": null, "after": key_result},
	"objective": objective,
	"siblings": [],
	"cycle": {"id": "cycle-1", "name": "Invariant cycle", "state": "planning"},
	"cycle_key_results": [],
	"change_request": null,
	"time": "2026-10-05T09:00:00+00:00",
}

# A command giving key result kr-1 the definition with these changes, in a planning cycle.
definition(action, changes) := object.union(base, {
	"action": action,
	"resource": {
		"kind": "key_result",
		"id": resource_id(action),
		"before": before(action),
		"after": object.union(key_result, changes),
	},
})

# The same, with these fields left out of the definition.
definition_without(action, field) := object.union(object.remove(base, ["resource"]), {
	"action": action,
	"resource": {
		"kind": "key_result",
		"id": resource_id(action),
		"before": before(action),
		"after": object.remove(key_result, [field]),
	},
})

resource_id(action) := null if action == "key_result.add"

else := "kr-1"

before(action) := null if action == "key_result.add"

else := key_result

# A scored command in a cycle in the given state, carrying this change request.
scored_change(action, state, change_request) := object.union(base, {
	"action": action,
	"resource": scored_resource(action),
	"cycle": {"state": state},
	"change_request": change_request,
})

scored_resource(action) := {"kind": "objective", "id": null, "before": null, "after": {"title": objective.title}} if {
	action == "objective.create"
} else := {"kind": "objective", "id": "obj-1", "before": {"title": objective.title}, "after": {"title": "Give our investors faster and clearer reporting"}} if {
	startswith(action, "objective.")
} else := {"kind": "key_result", "id": null, "before": null, "after": key_result} if {
	action == "key_result.add"
} else := {"kind": "key_result", "id": "kr-1", "before": key_result, "after": object.union(key_result, {"target": 10})}

# A change request approved for exactly what the command changes.
approved_for(action) := object.union(request("approved", "cycle", "cycle-1"), {"kind": "add_objective"}) if {
	action == "objective.create"
} else := object.union(request("approved", "objective", "obj-1"), {"kind": "add_key_result"}) if {
	action == "key_result.add"
} else := request("approved", "objective", "obj-1") if {
	startswith(action, "objective.")
} else := request("approved", "key_result", "kr-1")

# The same request, for another objective, key result or cycle.
approved_for_another(action) := object.union(approved_for(action), {
	"target": {"id": "someone-else"},
	"key_result_id": "someone-else",
})

# Deciding change request cr-1, requested by invariant-requester, as this actor.
decide(action, actor, roles) := object.union(base, {
	"action": action,
	"actor": {"id": actor, "roles": roles},
	"resource": {"kind": "change_request", "id": "cr-1", "before": null, "after": null},
	"cycle": {"state": "locked"},
	"change_request": request("pending", "key_result", "kr-1"),
})

approver_roles := data.change_approval.approver_roles if is_array(data.change_approval.approver_roles)

else := []

denied(rule, doc) if {
	some violation in data.okrgov.guardrails.deny with input as doc
	violation.rule == rule
}

# ---------------------------------------------------------------------------------------
# pay_linked: no key result is linked to pay
# ---------------------------------------------------------------------------------------

test_pay_linked_key_results_are_denied if {
	every action in definition_actions {
		denied("pay_linked", definition(action, {"pay_linked": true}))
	}
}

# ---------------------------------------------------------------------------------------
# risk_appetite: no rating above the version's own appetite, none that cannot be checked
# ---------------------------------------------------------------------------------------

test_ratings_above_the_appetite_are_denied if {
	is_object(data.risk_appetite)
	every domain, appetite in data.risk_appetite {
		every action in definition_actions {
			above_appetite_is_denied(action, domain, appetite)
		}
	}
}

above_appetite_is_denied(_, _, appetite) if {
	is_number(appetite)
	appetite >= 5 # ratings run from 1 to 5: none is above
}

above_appetite_is_denied(action, domain, appetite) if {
	is_number(appetite)
	appetite < 5
	denied("risk_appetite", definition(action, {"risk_domain": domain, "risk_rating": floor(appetite) + 1}))
}

test_ratings_that_cannot_be_checked_are_denied if {
	every action in definition_actions {
		denied("risk_appetite", definition(action, {"risk_domain": "invariant-unknown-domain", "risk_rating": 1}))
		denied("risk_appetite", definition(action, {"risk_domain": null, "risk_rating": 1}))
		every domain, _ in data.risk_appetite {
			denied("risk_appetite", definition(action, {"risk_domain": domain, "risk_rating": 6}))
		}
	}
}

# ---------------------------------------------------------------------------------------
# key_result_limit: no objective gets more key results than the version's own limit
# ---------------------------------------------------------------------------------------

test_more_key_results_than_the_limit_are_denied if {
	limit := data.limits.max_key_results_per_objective
	is_number(limit)
	full := object.union(definition("key_result.add", {}), {"siblings": siblings(floor(limit))})
	denied("key_result_limit", full)
}

# ---------------------------------------------------------------------------------------
# measurable: an owner, a unit, a direction, a numeric baseline and a different target
# ---------------------------------------------------------------------------------------

test_key_results_missing_what_makes_them_measurable_are_denied if {
	every action in definition_actions {
		every field in ["owner", "unit", "direction", "baseline", "target"] {
			denied("measurable", definition_without(action, field))
		}
	}
}

test_key_results_with_a_non_numeric_baseline_or_target_are_denied if {
	every action in definition_actions {
		denied("measurable", definition(action, {"baseline": "fifteen"}))
		denied("measurable", definition(action, {"target": "eight"}))
	}
}

test_key_results_with_an_unknown_direction_are_denied if {
	every action in definition_actions {
		denied("measurable", definition(action, {"direction": "sideways"}))
	}
}

test_key_results_asking_for_no_change_are_denied if {
	every action in definition_actions {
		denied("measurable", definition(action, {"target": key_result.baseline}))
	}
}

# ---------------------------------------------------------------------------------------
# changes_after_lock: after lock, what is scored changes only through an approved request
# ---------------------------------------------------------------------------------------

test_changes_after_lock_without_a_request_are_denied if {
	every action in scored_actions {
		denied("changes_after_lock", scored_change(action, "locked", null))
	}
}

test_changes_after_lock_with_a_request_not_yet_approved_are_denied if {
	every action in scored_actions {
		every status in ["pending", "rejected"] {
			pending := object.union(approved_for(action), {"status": status})
			denied("changes_after_lock", scored_change(action, "locked", pending))
		}
	}
}

test_changes_after_lock_with_a_request_approved_for_something_else_are_denied if {
	every action in scored_actions {
		denied("changes_after_lock", scored_change(action, "locked", approved_for_another(action)))
	}
}

test_nothing_scored_changes_in_a_closed_or_sealed_cycle if {
	every action in scored_actions {
		every state in ["closed", "sealed"] {
			denied("changes_after_lock", scored_change(action, state, approved_for(action)))
		}
	}
}

# ---------------------------------------------------------------------------------------
# four_eyes and approver_role: a change request is decided by someone else, allowed to
# ---------------------------------------------------------------------------------------

test_the_requester_cannot_decide_their_own_request if {
	every action in decision_actions {
		denied("four_eyes", decide(action, "invariant-requester", approver_roles))
		denied("four_eyes", decide(action, "invariant-requester", known_roles))
	}
}

test_roles_outside_the_approver_roles_cannot_decide if {
	every action in decision_actions {
		denied("approver_role", decide(action, "invariant-decider", []))
		denied("approver_role", decide(action, "invariant-decider", ["invariant-no-such-role"]))
		every role in known_roles {
			role_may_decide_or_is_denied(action, role)
		}
	}
}

role_may_decide_or_is_denied(_, role) if role in approver_roles

role_may_decide_or_is_denied(action, role) if {
	not role in approver_roles
	denied("approver_role", decide(action, "invariant-decider", [role]))
}

# ---------------------------------------------------------------------------------------
# The answer's shape: every finding names its rule and says why
# ---------------------------------------------------------------------------------------

test_every_finding_names_its_rule_and_its_message if {
	docs := [
		definition("key_result.add", {"pay_linked": true}),
		definition("key_result.revise", {}),
		scored_change("objective.revise", "locked", null),
		decide("change_request.approve", "invariant-requester", []),
		object.union(base, {"action": "cycle.lock", "cycle_key_results": [{"id": "kr-1", "objective_id": "obj-1", "confidence": 1}]}),
	]
	every doc in docs {
		well_formed(denials(doc))
		well_formed(warnings(doc))
	}
}

denials(doc) := found if {
	found := data.okrgov.guardrails.deny with input as doc
} else := set()

warnings(doc) := found if {
	found := data.okrgov.guardrails.warn with input as doc
} else := set()

well_formed(findings) if {
	every finding in findings {
		is_string(finding.rule)
		is_string(finding.message)
	}
}
