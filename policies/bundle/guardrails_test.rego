# Test cases for the guardrails: for every rule, a case it must stop and a case it must let
# through. Run them with `okrgov policy test` (or `opa test policies/bundle`). A test passes
# when its rule evaluates to true. The rules are named by their full path
# (data.okrgov.guardrails.deny), not through an import alias: regorus 0.13 evaluates a rule
# reached through an alias wrongly when another module of the package loads first.
package okrgov.guardrails_test

import rego.v1

# ---------------------------------------------------------------------------------------
# Fixtures: Tom's LP reporting turnaround, and inputs built around it
# ---------------------------------------------------------------------------------------

good_key_result := {
	"title": "LP reporting turnaround",
	"owner": "tom",
	"unit": "days",
	"baseline": 15,
	"target": 8,
	"direction": "decrease",
	"pay_linked": false,
	"risk_domain": "operational",
	"risk_rating": 2,
	"guardrail_metric": null,
}

# A sibling that is a guardrail for nothing in particular (increase, operational).
plain_sibling := {
	"id": "kr-0",
	"title": "SOC 2 controls with evidence collected",
	"owner": "dmitri",
	"unit": "%",
	"baseline": 55,
	"target": 100,
	"direction": "increase",
	"pay_linked": false,
	"risk_domain": "operational",
	"risk_rating": 2,
	"guardrail_metric": null,
}

base_input := {
	"action": "key_result.add",
	"actor": {"id": "tom", "roles": ["member"]},
	"resource": {"kind": "key_result", "id": null, "before": null, "after": good_key_result},
	"objective": {
		"id": "obj-1",
		"title": "Give our LPs faster, cleaner reporting",
		"owner": "sofia",
		"level": "team",
		"commitment": "committed",
	},
	"siblings": [plain_sibling],
	"cycle": {"id": "cycle-1", "name": "2026-Q4", "state": "planning"},
	"cycle_key_results": [],
	"change_request": null,
	"time": "2026-10-05T09:00:00+00:00",
	"people": directory,
}

# What the people directory says of the people the input names (the platform looks them
# up; the conduct rule reads job roles here). Nina and Zoe are not in it.
directory := {
	"tom": {"job_role": "investor_relations", "active": true},
	"sofia": {"job_role": "investor_relations", "active": true},
	"elena": {"job_role": "portfolio_manager", "active": true},
	"dmitri": {"job_role": "operations", "active": true},
}

# Adding Tom's key result with some fields changed.
add(changes) := object.union(base_input, {"resource": {"after": object.union(good_key_result, changes)}})

# Adding Tom's key result with some fields left out.
add_without(fields) := object.union(object.remove(base_input, ["resource"]), {"resource": {
	"kind": "key_result",
	"id": null,
	"before": null,
	"after": object.remove(good_key_result, fields),
}})

# Adding a key result next to these siblings.
add_next_to(changes, siblings) := object.union(add(changes), {"siblings": siblings})

sibling(changes) := object.union(plain_sibling, changes)

siblings(n) := [sibling({"id": sprintf("kr-%d", [i])}) | some i in numbers.range(1, n)] if n > 0

else := []

# Revising or retiring key result kr-1 in a cycle in the given state.
change(action, state, request) := object.union(base_input, {
	"action": action,
	"resource": {"id": "kr-1", "before": good_key_result, "after": object.union(good_key_result, {"target": 10})},
	"cycle": {"state": state},
	"change_request": request,
})

approved_request := {
	"id": "cr-1", "requester": "tom", "status": "approved", "kind": "revise",
	"target": {"kind": "key_result", "id": "kr-1"}, "key_result_id": "kr-1",
}

# Changing objective obj-1 (title, owner, parent or existence) in a cycle in the given state.
objective_change(action, state, request) := object.union(base_input, {
	"action": action,
	"resource": {
		"kind": "objective", "id": "obj-1",
		"before": {"title": "Give our LPs faster, cleaner reporting", "owner": "sofia"},
		"after": {"title": "Give our LPs faster, cleaner reporting", "owner": "tom"},
	},
	"siblings": [],
	"cycle": {"state": state},
	"change_request": request,
})

approved_objective_request := {
	"id": "cr-2", "requester": "sofia", "status": "approved", "kind": "revise",
	"target": {"kind": "objective", "id": "obj-1"}, "key_result_id": null,
}

# Deciding change request cr-1 (requested by Tom) as the given person.
decide(action, actor) := object.union(base_input, {
	"action": action,
	"actor": {"id": actor, "roles": ["executive"]},
	"resource": {"kind": "change_request", "id": "cr-1", "before": null, "after": null},
	"change_request": {"id": "cr-1", "requester": "tom", "status": "pending", "key_result_id": "kr-1"},
})

# Deciding change request cr-1 (requested by Tom) as someone with these roles.
decide_as(action, actor, roles) := object.union(decide(action, actor), {"actor": {"id": actor, "roles": roles}})

objective(action, title) := object.union(base_input, {
	"action": action,
	"resource": {"kind": "objective", "id": "obj-1", "before": null, "after": {"title": title}},
	"siblings": [],
})

lock(cycle_key_results) := object.union(base_input, {
	"action": "cycle.lock",
	"resource": {"kind": "cycle", "id": "cycle-1", "before": null, "after": null},
	"siblings": [],
	"cycle_key_results": cycle_key_results,
})

denied(rule, doc) if {
	some violation in data.okrgov.guardrails.deny with input as doc
	violation.rule == rule
}

warned(rule, doc) if {
	some violation in data.okrgov.guardrails.warn with input as doc
	violation.rule == rule
}

deny_messages(rule, doc) := {violation.message |
	some violation in data.okrgov.guardrails.deny with input as doc
	violation.rule == rule
}

# ---------------------------------------------------------------------------------------
# A well-formed key result passes every rule
# ---------------------------------------------------------------------------------------

test_well_formed_key_result_has_no_denial_and_no_warning if {
	count(data.okrgov.guardrails.deny) == 0 with input as base_input
	count(data.okrgov.guardrails.warn) == 0 with input as base_input
}

test_every_rule_is_in_the_catalogue if {
	every rule, entry in data.okrgov.guardrails.catalogue {
		entry.severity in {"deny", "warn"}
		rule != ""
	}
	count(data.okrgov.guardrails.catalogue) == 13
}

test_data_has_every_setting_the_rules_read if {
	is_object(data.risk_appetite)
	is_array(data.regulated_domains)
	is_array(data.client_facing_roles)
	is_array(data.sales_volume_terms)
	is_array(data.activity_words.first)
	is_array(data.activity_words.anywhere)
	is_number(data.limits.max_key_results_per_objective)
	is_number(data.limits.objective_title_words.min)
	is_number(data.limits.objective_title_words.max)
	is_number(data.limits.sandbagging_confidence)
	is_array(data.change_approval.approver_roles)
	count(data.change_approval.approver_roles) > 0
}

# Word lists are matched against normalised titles, so they must be written normalised.
test_data_word_lists_are_lower_case_words if {
	every words in array.concat(data.sales_volume_terms, data.activity_words.anywhere) {
		regex.match(`^[a-z0-9]+( [a-z0-9]+)*$`, words)
	}
	every word in data.activity_words.first {
		regex.match(`^[a-z0-9]+$`, word)
	}
}

# ---------------------------------------------------------------------------------------
# pay_linked
# ---------------------------------------------------------------------------------------

test_pay_linked_key_result_is_denied if {
	denied("pay_linked", add({"pay_linked": true}))
}

test_pay_linked_false_is_not_denied if {
	not denied("pay_linked", add({"pay_linked": false}))
}

test_pay_linked_that_is_not_a_boolean_is_denied if {
	denied("pay_linked", add({"pay_linked": "no"}))
	denied("pay_linked", add({"pay_linked": 0}))
	denied("pay_linked", add({"pay_linked": null}))
}

test_pay_linked_change_request_is_denied if {
	doc := object.union(add({"pay_linked": true}), {"action": "change_request.request"})
	denied("pay_linked", doc)
}

test_pay_linked_revision_is_denied if {
	doc := object.union(add({"pay_linked": true}), {"action": "key_result.revise"})
	denied("pay_linked", doc)
}

# ---------------------------------------------------------------------------------------
# risk_appetite
# ---------------------------------------------------------------------------------------

test_rating_above_appetite_is_denied if {
	denied("risk_appetite", add({"risk_domain": "conduct", "risk_rating": 3}))
}

test_rating_at_appetite_is_allowed if {
	not denied("risk_appetite", add({"risk_domain": "conduct", "risk_rating": 2}))
	not denied("risk_appetite", add({"risk_domain": "investment", "risk_rating": 4}))
}

test_lowered_appetite_denies_what_it_allowed_before if {
	doc := add({"risk_domain": "investment", "risk_rating": 4})
	not denied("risk_appetite", doc)
	denied("risk_appetite", doc) with data.risk_appetite.investment as 3
}

test_risk_appetite_message_names_rating_domain_and_appetite if {
	messages := deny_messages("risk_appetite", add({"risk_domain": "conduct", "risk_rating": 4}))
	messages == {"Key result \"LP reporting turnaround\" has risk rating 4 in the conduct risk domain, above the firm's appetite of 2 for that domain. Reduce the risk the key result takes (rating 2 or lower) or ask a risk officer to review the appetite."}
}

test_rating_in_unknown_domain_is_denied if {
	denied("risk_appetite", add({"risk_domain": "weather", "risk_rating": 1}))
	denied("risk_appetite", add({"risk_domain": null, "risk_rating": 1}))
	denied("risk_appetite", add_without(["risk_domain"]))
}

test_no_rating_needs_no_known_domain if {
	not denied("risk_appetite", add({"risk_domain": "weather", "risk_rating": null}))
	not denied("risk_appetite", add_without(["risk_domain", "risk_rating"]))
}

test_rating_outside_one_to_five_is_denied if {
	denied("risk_appetite", add({"risk_rating": 0}))
	denied("risk_appetite", add({"risk_rating": 2.5}))
	denied("risk_appetite", add({"risk_rating": "high"}))
}

# ---------------------------------------------------------------------------------------
# measurable
# ---------------------------------------------------------------------------------------

test_missing_definition_fields_are_denied if {
	every field in ["owner", "unit", "direction", "baseline", "target"] {
		denied("measurable", add_without([field]))
	}
}

test_blank_or_non_numeric_fields_are_denied if {
	denied("measurable", add({"owner": "  "}))
	denied("measurable", add({"unit": ""}))
	denied("measurable", add({"direction": null}))
	denied("measurable", add({"baseline": "fifteen"}))
	denied("measurable", add({"target": null}))
}

test_unknown_direction_is_denied if {
	denied("measurable", add({"direction": "sideways"}))
}

test_target_equal_to_baseline_is_denied if {
	denied("measurable", add({"baseline": 8, "target": 8}))
	denied("measurable", add({"baseline": 8, "target": 8.0}))
}

test_complete_definition_is_measurable if {
	not denied("measurable", base_input)
	not denied("measurable", add({"direction": "milestone", "baseline": 0, "target": 1}))
}

# ---------------------------------------------------------------------------------------
# key_result_limit and single_key_result
# ---------------------------------------------------------------------------------------

test_sixth_key_result_is_denied if {
	denied("key_result_limit", add_next_to({}, siblings(5)))
}

test_fifth_key_result_is_allowed if {
	not denied("key_result_limit", add_next_to({}, siblings(4)))
}

test_first_key_result_of_an_objective_warns if {
	warned("single_key_result", add_next_to({}, []))
}

test_second_key_result_does_not_warn if {
	not warned("single_key_result", add_next_to({}, siblings(1)))
}

test_retiring_down_to_one_key_result_warns if {
	doc := object.union(change("key_result.retire", "planning", null), {"siblings": siblings(1)})
	warned("single_key_result", doc)
	not warned("single_key_result", object.union(doc, {"siblings": siblings(2)}))
}

test_objective_locked_with_one_key_result_warns if {
	warned("single_key_result", lock([{"id": "kr-1", "objective_id": "obj-1", "confidence": null}]))
	not warned("single_key_result", lock([
		{"id": "kr-1", "objective_id": "obj-1", "confidence": null},
		{"id": "kr-2", "objective_id": "obj-1", "confidence": null},
	]))
}

# ---------------------------------------------------------------------------------------
# changes_after_lock
# ---------------------------------------------------------------------------------------

test_revision_after_lock_without_request_is_denied if {
	denied("changes_after_lock", change("key_result.revise", "locked", null))
}

test_retirement_after_lock_without_request_is_denied if {
	denied("changes_after_lock", change("key_result.retire", "locked", null))
}

test_revision_after_lock_with_approved_request_is_allowed if {
	not denied("changes_after_lock", change("key_result.revise", "locked", approved_request))
	not denied("changes_after_lock", change("key_result.retire", "locked", approved_request))
}

test_pending_or_rejected_request_does_not_unlock if {
	denied("changes_after_lock", change("key_result.revise", "locked", object.union(approved_request, {"status": "pending"})))
	denied("changes_after_lock", change("key_result.revise", "locked", object.union(approved_request, {"status": "rejected"})))
}

test_request_approved_for_another_key_result_does_not_unlock if {
	request := object.union(approved_request, {"key_result_id": "kr-2", "target": {"id": "kr-2"}})
	denied("changes_after_lock", change("key_result.revise", "locked", request))
}

test_revision_before_lock_is_allowed if {
	not denied("changes_after_lock", change("key_result.revise", "planning", null))
}

test_closed_cycle_does_not_change if {
	denied("changes_after_lock", change("key_result.revise", "closed", approved_request))
}

test_sealed_cycle_does_not_change if {
	denied("changes_after_lock", change("key_result.retire", "sealed", approved_request))
}

test_request_in_closed_cycle_is_denied if {
	denied("changes_after_lock", change("change_request.request", "closed", null))
	denied("changes_after_lock", object.union(decide("change_request.approve", "priya"), {"cycle": {"state": "closed"}}))
}

test_legacy_request_naming_only_its_key_result_still_unlocks if {
	legacy := {"id": "cr-1", "requester": "tom", "status": "approved", "key_result_id": "kr-1"}
	not denied("changes_after_lock", change("key_result.revise", "locked", legacy))
}

test_objective_changes_after_lock_without_request_are_denied if {
	every action in ["objective.revise", "objective.reown", "objective.realign", "objective.retire"] {
		denied("changes_after_lock", objective_change(action, "locked", null))
	}
}

test_objective_changes_after_lock_with_approved_request_are_allowed if {
	every action in ["objective.revise", "objective.reown", "objective.realign", "objective.retire"] {
		not denied("changes_after_lock", objective_change(action, "locked", approved_objective_request))
	}
}

test_objective_request_does_not_unlock_a_key_result if {
	denied("changes_after_lock", change("key_result.revise", "locked", approved_objective_request))
}

test_key_result_request_does_not_unlock_its_objective if {
	request := object.union(approved_request, {"target": {"kind": "key_result", "id": "obj-1"}})
	denied("changes_after_lock", objective_change("objective.retire", "locked", request))
}

test_objective_changes_before_lock_are_allowed if {
	not denied("changes_after_lock", objective_change("objective.reown", "planning", null))
}

test_adding_after_lock_without_request_is_denied if {
	denied("changes_after_lock", object.union(base_input, {"cycle": {"state": "locked"}}))
	created := object.union(objective("objective.create", "Give our LPs faster, cleaner reporting"), {"cycle": {"state": "locked"}})
	denied("changes_after_lock", created)
}

test_adding_after_lock_with_approved_request_is_allowed if {
	add_request := {
		"id": "cr-3", "requester": "sofia", "status": "approved", "kind": "add_key_result",
		"target": {"kind": "objective", "id": "obj-1"}, "key_result_id": null,
	}
	not denied("changes_after_lock", object.union(base_input, {"cycle": {"state": "locked"}, "change_request": add_request}))
	objective_request := {
		"id": "cr-4", "requester": "priya", "status": "approved", "kind": "add_objective",
		"target": {"kind": "cycle", "id": "cycle-1"}, "key_result_id": null,
	}
	created := object.union(objective("objective.create", "Give our LPs faster, cleaner reporting"), {
		"cycle": {"state": "locked"},
		"change_request": objective_request,
	})
	not denied("changes_after_lock", created)
}

test_request_for_a_new_key_result_is_judged_like_an_addition if {
	request := object.union(add({"pay_linked": true}), {"action": "change_request.request", "cycle": {"state": "locked"}})
	denied("pay_linked", request)
	full := object.union(add_next_to({}, siblings(5)), {"action": "change_request.approve", "cycle": {"state": "locked"}})
	denied("key_result_limit", full)
}

test_objective_request_is_not_judged_as_a_key_result if {
	request := object.union(objective_change("change_request.request", "locked", null), {})
	not denied("measurable", request)
	warned("objective_title_shape", object.union(request, {"resource": {"after": {"title": "Q4 2026"}}}))
}

# ---------------------------------------------------------------------------------------
# four_eyes
# ---------------------------------------------------------------------------------------

test_requester_cannot_approve_own_request if {
	denied("four_eyes", decide("change_request.approve", "tom"))
}

test_requester_cannot_reject_own_request if {
	denied("four_eyes", decide("change_request.reject", "tom"))
}

test_someone_else_may_decide if {
	not denied("four_eyes", decide("change_request.approve", "priya"))
	not denied("four_eyes", decide("change_request.reject", "priya"))
}

# ---------------------------------------------------------------------------------------
# approver_role
# ---------------------------------------------------------------------------------------

test_executive_may_decide if {
	not denied("approver_role", decide_as("change_request.approve", "priya", ["executive"]))
	not denied("approver_role", decide_as("change_request.reject", "priya", ["executive", "member"]))
}

test_member_owning_the_objective_may_not_decide if {
	denied("approver_role", decide_as("change_request.approve", "sofia", ["member"]))
	denied("approver_role", decide_as("change_request.reject", "sofia", ["member"]))
}

test_other_roles_may_not_decide if {
	every role in ["risk_officer", "admin", "compliance"] {
		denied("approver_role", decide_as("change_request.approve", "ana", [role]))
	}
	denied("approver_role", decide_as("change_request.approve", "ana", []))
}

test_approver_roles_follow_the_data if {
	denied("approver_role", decide_as("change_request.approve", "priya", ["executive"])) with data.change_approval.approver_roles as ["risk_officer"]
	not denied("approver_role", decide_as("change_request.approve", "ana", ["risk_officer"])) with data.change_approval.approver_roles as ["risk_officer"]
}

test_without_approver_roles_nobody_decides if {
	denied("approver_role", decide_as("change_request.approve", "priya", ["executive"])) with data.change_approval as {}
}

test_approver_role_message_names_the_roles_allowed if {
	some message in deny_messages("approver_role", decide_as("change_request.approve", "sofia", ["member"]))
	contains(message, "executive")
	contains(message, "sofia")
}

# ---------------------------------------------------------------------------------------
# sales_conduct
# ---------------------------------------------------------------------------------------

test_sales_volume_for_client_facing_owner_is_denied if {
	denied("sales_conduct", add({"title": "New accounts opened", "unit": "accounts", "direction": "increase", "baseline": 10, "target": 30}))
	denied("sales_conduct", add({"title": "Cross-selling to existing LPs", "unit": "funds per LP", "direction": "increase", "baseline": 1, "target": 2}))
	denied("sales_conduct", add({"title": "Fund II closes", "unit": "AUM raised (USD m)", "direction": "increase", "baseline": 0, "target": 300}))
}

test_sales_volume_for_other_roles_is_allowed if {
	doc := add({"title": "New accounts opened", "owner": "elena", "direction": "increase", "baseline": 10, "target": 30})
	not denied("sales_conduct", doc)
}

test_client_outcome_for_client_facing_owner_is_allowed if {
	not denied("sales_conduct", base_input)
	not denied("sales_conduct", add({"title": "Client complaints resolved within 5 days", "unit": "%"}))
}

# The platform prepares the words of the title and unit (resource.words: Unicode folded to
# ASCII, lower case): a dotted capital I or fullwidth letters do not hide a volume term.
test_sales_volume_in_prepared_words_is_denied if {
	doc := object.union(add({"title": "NET İNFLOWS FROM LPS"}), {"resource": {"words": {"title": " net inflows from lps ", "unit": " eur m "}}})
	denied("sales_conduct", doc)
}

# Without prepared words (an input recorded before they were), only ASCII letters make
# words, the same under every engine: "İNFLOWS" is not "inflows" there.
test_unprepared_text_is_folded_as_ascii_only if {
	not denied("sales_conduct", add({"title": "NET İNFLOWS FROM LPS"}))
	denied("sales_conduct", add({"title": "NET INFLOWS FROM LPS"}))
}

test_sales_conduct_follows_the_job_role_directory if {
	doc := add({"title": "Revenue from new mandates", "owner": "nina", "direction": "increase", "baseline": 1, "target": 2})
	not denied("sales_conduct", doc)
	denied("sales_conduct", object.union(doc, {"people": {"nina": {"job_role": "relationship_manager", "active": true}}}))
	not denied("sales_conduct", object.union(doc, {"people": {"nina": {"job_role": "operations", "active": true}}}))
}

# The job role is the directory's, passed in the input: a role the data names for someone
# (as version 1 of a firm's bundle did, "job_roles") no longer counts, and an input without
# people (one recorded before they were passed) finds nobody in a client-facing role.
test_sales_conduct_reads_job_roles_from_the_input_only if {
	doc := add({"title": "Revenue from new mandates", "owner": "nina", "direction": "increase", "baseline": 1, "target": 2})
	not denied("sales_conduct", doc) with data.job_roles as {"nina": "relationship_manager"}
	volume := add({"title": "New accounts opened", "unit": "accounts", "direction": "increase", "baseline": 10, "target": 30})
	denied("sales_conduct", volume)
	not denied("sales_conduct", object.remove(volume, ["people"]))
	not denied("sales_conduct", object.union(volume, {"people": {"tom": {"job_role": null, "active": true}}}))
	not denied("sales_conduct", object.union(volume, {"people": {"tom": "investor_relations"}}))
	not denied("sales_conduct", object.union(volume, {"people": ["tom"]}))
}

# ---------------------------------------------------------------------------------------
# activity_not_outcome
# ---------------------------------------------------------------------------------------

test_activity_titles_warn if {
	warned("activity_not_outcome", add({"title": "Launch the new LP portal"}))
	warned("activity_not_outcome", add({"title": "Hold ten client meetings"}))
	warned("activity_not_outcome", add({"title": "Quarterly LP reviews: conduct meetings with the top 20"}))
	warned("activity_not_outcome", add({"title": "Staff attend AML training"}))
}

test_outcome_titles_do_not_warn if {
	not warned("activity_not_outcome", base_input)
	not warned("activity_not_outcome", add({"title": "Head of Compliance hired by week ten"}))
	not warned("activity_not_outcome", add({"title": "Training attendance rate"}))
	not warned("activity_not_outcome", add({"title": "Product launched to 80% of LPs"}))
}

# ---------------------------------------------------------------------------------------
# objective_title_shape
# ---------------------------------------------------------------------------------------

test_objective_title_with_digits_warns if {
	warned("objective_title_shape", objective("objective.create", "Cut LP reporting to 8 days"))
}

test_objective_title_too_short_or_too_long_warns if {
	warned("objective_title_shape", objective("objective.create", "Strengthen operations"))
	long := "Strengthen our operational infrastructure and our reporting and our controls and our hiring well ahead of the next fundraise"
	warned("objective_title_shape", objective("objective.revise", long))
}

test_objective_title_of_good_shape_does_not_warn if {
	not warned("objective_title_shape", objective("objective.create", "Strengthen our operational infrastructure ahead of the next fundraise"))
	not warned("objective_title_shape", objective("objective.create", "Give LPs cleaner reporting"))
	eighteen := "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen"
	not warned("objective_title_shape", objective("objective.revise", eighteen))
}

# ---------------------------------------------------------------------------------------
# growth_without_guardrail
# ---------------------------------------------------------------------------------------

growth := {"title": "Investment memos with a documented downside case", "owner": "elena", "unit": "%", "baseline": 40, "target": 100, "direction": "increase", "risk_domain": "investment", "risk_rating": 3}

test_growth_in_regulated_domain_without_guardrail_warns if {
	warned("growth_without_guardrail", add_next_to(growth, [plain_sibling]))
	unrelated := sibling({"direction": "decrease", "risk_domain": "operational"})
	warned("growth_without_guardrail", add_next_to(growth, [unrelated]))
}

test_growth_with_its_own_guardrail_metric_does_not_warn if {
	not warned("growth_without_guardrail", add_next_to(object.union(growth, {"guardrail_metric": "memo errors found by IC"}), []))
}

test_growth_paired_with_a_guardrail_sibling_does_not_warn if {
	reducing := sibling({"direction": "decrease", "risk_domain": "investment"})
	not warned("growth_without_guardrail", add_next_to(growth, [reducing]))
	with_metric := sibling({"guardrail_metric": "complaints"})
	not warned("growth_without_guardrail", add_next_to(growth, [with_metric]))
}

test_growth_outside_regulated_domains_does_not_warn if {
	not warned("growth_without_guardrail", add_next_to(object.union(growth, {"risk_domain": "operational"}), []))
	not warned("growth_without_guardrail", add_next_to(object.union(growth, {"direction": "milestone", "baseline": 0, "target": 1}), []))
}

# ---------------------------------------------------------------------------------------
# sandbagging
# ---------------------------------------------------------------------------------------

test_confident_objective_at_lock_warns if {
	doc := lock([
		{"id": "kr-1", "objective_id": "obj-1", "confidence": 0.95},
		{"id": "kr-2", "objective_id": "obj-1", "confidence": 0.9},
		{"id": "kr-3", "objective_id": "obj-2", "confidence": 0.5},
	])
	warned("sandbagging", doc)
	some violation in data.okrgov.guardrails.warn with input as doc
	violation.rule == "sandbagging"
	contains(violation.message, "objective obj-1 have an average confidence of 92.50% at lock, above 90.00%")
}

# An average of exactly the threshold is not above it, under every engine: the sum of
# basis points (27000) is compared with the threshold times the count (9000 x 3).
test_confidence_averaging_exactly_the_threshold_does_not_warn if {
	not warned("sandbagging", lock([
		{"id": "kr-1", "objective_id": "obj-1", "confidence": 0.7, "confidence_basis_points": 7000},
		{"id": "kr-2", "objective_id": "obj-1", "confidence": 1, "confidence_basis_points": 10000},
		{"id": "kr-3", "objective_id": "obj-1", "confidence": 1, "confidence_basis_points": 10000},
	]))
	not warned("sandbagging", lock([
		{"id": "kr-1", "objective_id": "obj-1", "confidence": 0.7},
		{"id": "kr-2", "objective_id": "obj-1", "confidence": 1},
		{"id": "kr-3", "objective_id": "obj-1", "confidence": 1},
	]))
	warned("sandbagging", lock([
		{"id": "kr-1", "objective_id": "obj-1", "confidence": 0.7001, "confidence_basis_points": 7001},
		{"id": "kr-2", "objective_id": "obj-1", "confidence": 1, "confidence_basis_points": 10000},
		{"id": "kr-3", "objective_id": "obj-1", "confidence": 1, "confidence_basis_points": 10000},
	]))
}

# The platform's basis points are what the rule reads when the input has them.
test_sandbagging_reads_the_prepared_basis_points if {
	warned("sandbagging", lock([{"id": "kr-1", "objective_id": "obj-1", "confidence": 0.5, "confidence_basis_points": 9500}]))
}

test_confident_cycle_at_lock_warns if {
	doc := lock([
		{"id": "kr-1", "objective_id": "obj-1", "confidence": 0.95},
		{"id": "kr-2", "objective_id": "obj-2", "confidence": 0.95},
	])
	some violation in data.okrgov.guardrails.warn with input as doc
	violation.rule == "sandbagging"
	contains(violation.message, "cycle \"2026-Q4\"")
}

test_realistic_confidence_at_lock_does_not_warn if {
	not warned("sandbagging", lock([
		{"id": "kr-1", "objective_id": "obj-1", "confidence": 0.9},
		{"id": "kr-2", "objective_id": "obj-1", "confidence": 0.6},
		{"id": "kr-3", "objective_id": "obj-2", "confidence": null},
	]))
	not warned("sandbagging", lock([]))
}

test_sandbagging_is_checked_only_at_lock if {
	doc := object.union(lock([{"id": "kr-1", "objective_id": "obj-1", "confidence": 1}]), {"action": "cycle.close"})
	not warned("sandbagging", doc)
}
