# okrgov guardrails: the firm's rules for objectives and key results, as code.
#
# Every command (add a key result, revise it, lock a cycle, approve a change request...) is
# checked against these rules before anything is recorded. A rule either DENIES the command
# (nothing is recorded, the author is told why) or WARNS (the command goes through; the
# warning is recorded with the decision and shown to the author).
#
# Each rule has a stable id (the "rule" field: auditors and compliance views filter on it,
# so it is never renamed) and a message that tells the author how to fix the problem.
# Thresholds and word lists live in data.json, so a risk officer can change them without
# touching the rules. The input document these rules read is described in
# policies/README.md.
package okrgov.guardrails

import rego.v1

# The rules, their severity and what each protects against (for listings and reviews).
catalogue := {
	"pay_linked": {"severity": "deny", "summary": "no key result linked to pay or bonus"},
	"risk_appetite": {"severity": "deny", "summary": "risk rating within the appetite of its risk domain"},
	"measurable": {"severity": "deny", "summary": "owner, unit, direction, baseline and a different target"},
	"key_result_limit": {"severity": "deny", "summary": "at most five key results per objective"},
	"single_key_result": {"severity": "warn", "summary": "an objective measured by one key result only"},
	"changes_after_lock": {"severity": "deny", "summary": "after lock, what is scored changes only through an approved change request"},
	"four_eyes": {"severity": "deny", "summary": "a change request is decided by someone other than its requester"},
	"approver_role": {"severity": "deny", "summary": "only the roles allowed to approve decide change requests"},
	"sales_conduct": {"severity": "deny", "summary": "no sales-volume key results for client-facing staff"},
	"activity_not_outcome": {"severity": "warn", "summary": "key results state outcomes, not activities"},
	"objective_title_shape": {"severity": "warn", "summary": "objective titles are qualitative and concise"},
	"growth_without_guardrail": {"severity": "warn", "summary": "growth in a regulated domain is paired with a guardrail metric"},
	"sandbagging": {"severity": "warn", "summary": "targets so safe that confidence at lock is above 0.9"},
}

# ---------------------------------------------------------------------------------------
# What the command is about
# ---------------------------------------------------------------------------------------

# Commands that give a key result a definition: adding one, revising one, asking (after
# lock) for a change to one or for a new one, and approving such a request (judged again
# under the policy active when it is approved). For all of them, input.resource.after is the
# complete definition the key result would have.
definition_actions := {"key_result.add", "key_result.revise", "change_request.request", "change_request.approve"}

# The commands that define what a cycle scores: its objectives (their definition and their
# existence) and its key results. After lock each happens only as the effect of an approved
# change request; in a closed or sealed cycle not at all.
scored_actions := {
	"objective.create", "objective.revise", "objective.reown", "objective.realign", "objective.retire",
	"key_result.add", "key_result.revise", "key_result.retire",
}

# Commands that write a change request or decide one.
request_actions := {"change_request.request", "change_request.approve", "change_request.reject"}

# Commands that nothing in a closed cycle may do.
closed_cycle_actions := scored_actions | request_actions

objective_actions := {"objective.create", "objective.revise"}

decision_actions := {"change_request.approve", "change_request.reject"}

directions := {"increase", "decrease", "milestone"}

# The key result definition under review (undefined for other commands, and for requests
# on an objective or a cycle). A resource that does not say its kind is judged as a key
# result: when in doubt, every definition rule applies.
proposed := input.resource.after if {
	input.action in definition_actions
	resource_kind == "key_result"
	is_object(input.resource.after)
}

resource_kind := object.get(input, ["resource", "kind"], "key_result")

# The command adds a key result: directly, or by asking for (or approving) a new one.
adds_key_result if input.action == "key_result.add"

adds_key_result if {
	input.action in {"change_request.request", "change_request.approve"}
	resource_kind == "key_result"
	input.resource.id == null
	is_object(input.resource.after)
}

# The title an objective would have: creating or revising it, or a change request on an
# objective (or for a new one) that would give it one.
objective_title := input.resource.after.title if {
	input.action in objective_actions
	is_object(input.resource.after)
}

objective_title := input.resource.after.title if {
	input.action in {"change_request.request", "change_request.approve"}
	input.resource.kind == "objective"
	is_object(input.resource.after)
}

# The objective's other live key results.
siblings := input.siblings if is_array(input.siblings)

else := []

cycle_key_results := input.cycle_key_results if is_array(input.cycle_key_results)

else := []

limits := data.limits

# ---------------------------------------------------------------------------------------
# deny: pay_linked
# ---------------------------------------------------------------------------------------
# Why: when pay or bonus depends on hitting a key result, people negotiate safe targets
# instead of stretching, report optimistic progress, and may put clients or the firm at
# risk to hit the number. Remuneration rules expect incentives to be set through the
# remuneration process, with its own risk adjustment, not through OKRs.
deny contains violation("pay_linked", msg) if {
	proposed.pay_linked == true
	msg := sprintf(
		"Key result %s is linked to pay or bonus. OKRs are kept separate from remuneration: set pay_linked to false, and agree any incentive through the remuneration process.",
		[label(proposed)],
	)
}

deny contains violation("pay_linked", msg) if {
	is_object(proposed)
	value := object.get(proposed, "pay_linked", false)
	not is_boolean(value)
	msg := sprintf(
		"Key result %s has a pay_linked of type %s; it must be true or false. Set it to false: key results are not linked to pay.",
		[label(proposed), type_name(value)],
	)
}

# ---------------------------------------------------------------------------------------
# deny: risk_appetite
# ---------------------------------------------------------------------------------------
# Why: the board sets how much risk the firm accepts in each risk domain (data.json,
# "risk_appetite": the highest acceptable rating, 1 low to 5 high). A goal whose pursuit
# carries more risk than the board accepts must not be set, and a rating in a domain the
# board has not sized cannot be checked at all.
deny contains violation("risk_appetite", msg) if {
	rating := proposed.risk_rating
	is_number(rating)
	appetite := data.risk_appetite[proposed.risk_domain]
	rating > appetite
	msg := sprintf(
		"Key result %s has risk rating %s in the %s risk domain, above the firm's appetite of %s for that domain. Reduce the risk the key result takes (rating %s or lower) or ask a risk officer to review the appetite.",
		[label(proposed), number_text(rating), proposed.risk_domain, number_text(appetite), number_text(appetite)],
	)
}

deny contains violation("risk_appetite", msg) if {
	proposed.risk_rating != null
	not known_risk_domain(proposed)
	msg := sprintf(
		"Key result %s has a risk rating but its risk domain %s has no risk appetite set. Use one of: %s.",
		[label(proposed), shown(object.get(proposed, "risk_domain", null)), concat(", ", sort(object.keys(data.risk_appetite)))],
	)
}

deny contains violation("risk_appetite", msg) if {
	proposed.risk_rating != null
	rating := proposed.risk_rating
	not valid_rating(rating)
	msg := sprintf(
		"Key result %s has risk rating %s; a risk rating is a whole number from 1 (low) to 5 (high).",
		[label(proposed), value_text(rating)],
	)
}

known_risk_domain(kr) if is_number(data.risk_appetite[kr.risk_domain])

valid_rating(rating) if {
	is_number(rating)
	rating == round(rating)
	rating >= 1
	rating <= 5
}

# ---------------------------------------------------------------------------------------
# deny: measurable
# ---------------------------------------------------------------------------------------
# Why: a key result is a measurable outcome. Without an owner nobody answers for it;
# without a unit, a direction, a baseline and a target nobody can say at quarter end
# whether it was achieved, and the score the board sees would mean nothing. A target equal
# to its baseline asks for no change at all.
deny contains violation("measurable", msg) if {
	is_object(proposed)
	kr := proposed
	some field in ["owner", "unit", "direction"]
	not has_text(object.get(kr, field, null))
	msg := sprintf(
		"Key result %s has no %s. A key result needs an owner, a unit, a direction (increase, decrease or milestone), a baseline and a target: add the %s.",
		[label(kr), field, field],
	)
}

deny contains violation("measurable", msg) if {
	is_object(proposed)
	kr := proposed
	some field in ["baseline", "target"]
	not is_number(object.get(kr, field, null))
	msg := sprintf(
		"Key result %s has no numeric %s. Give the %s as a number in the key result's unit (for a milestone: baseline 0, target 1).",
		[label(kr), field, field],
	)
}

deny contains violation("measurable", msg) if {
	is_object(proposed)
	kr := proposed
	has_text(kr.direction)
	not kr.direction in directions
	msg := sprintf(
		"Key result %s has direction %s; use increase, decrease or milestone.",
		[label(kr), quoted(kr.direction)],
	)
}

deny contains violation("measurable", msg) if {
	is_object(proposed)
	kr := proposed
	is_number(kr.baseline)
	is_number(kr.target)
	kr.target == kr.baseline
	msg := sprintf(
		"Key result %s has a target equal to its baseline (%s): it asks for no change. Set a target that differs from the baseline (for a milestone: baseline 0, target 1).",
		[label(kr), number_text(kr.target)],
	)
}

# ---------------------------------------------------------------------------------------
# deny: key_result_limit; warn: single_key_result
# ---------------------------------------------------------------------------------------
# Why: an objective with many key results has no focus and spreads effort thin; good
# practice is two to five. One key result alone is easy to game: hitting it can hide what
# got worse, so a second measure (quality, risk or client outcome) should sit beside it.
deny contains violation("key_result_limit", msg) if {
	adds_key_result
	total := count(siblings) + 1
	total > limits.max_key_results_per_objective
	msg := sprintf(
		"Objective %s would have %d key results; the limit is %s. Keep the ones that matter most: retire or merge one before adding another.",
		[objective_label, total, number_text(limits.max_key_results_per_objective)],
	)
}

warn contains violation("single_key_result", msg) if {
	adds_key_result
	count(siblings) == 0
	msg := sprintf(
		"Objective %s has a single key result. Add at least one more (two to five is good practice), for example a quality or risk measure beside this one.",
		[objective_label],
	)
}

warn contains violation("single_key_result", msg) if {
	input.action == "key_result.retire"
	count(siblings) == 1
	msg := sprintf(
		"Retiring this key result leaves objective %s with a single key result. Consider adding another measure so that one number does not carry the whole objective.",
		[objective_label],
	)
}

warn contains violation("single_key_result", msg) if {
	input.action == "cycle.lock"
	some objective_id, objective in locked_objectives
	objective.key_results == 1
	msg := sprintf(
		"Objective %s is locked with a single key result. Add a second measure (two to five is good practice) through a change request if one number should not carry it alone.",
		[id_text(objective_id)],
	)
}

# ---------------------------------------------------------------------------------------
# deny: changes_after_lock
# ---------------------------------------------------------------------------------------
# Why: once a cycle is locked, its objectives and key results are the commitments the firm
# and the board track, and they are what is scored at quarter end. Retitling, re-owning,
# re-aligning or retiring an objective, adding one, or moving a target, adding or dropping a
# key result mid-quarter without a documented request approved by a second person would let
# results be made to look good after the fact. A closed cycle has been scored and reported,
# so nothing in it changes, not even through a request.
deny contains violation("changes_after_lock", msg) if {
	input.action in scored_actions
	input.cycle.state == "locked"
	not approved_request_for_this_resource
	msg := sprintf(
		"Cycle %s is locked: %s changes only through an approved change request. File one (POST /v1/change-requests) with the change and the reason, and have someone allowed to approve change requests (not you) decide it.",
		[cycle_label, locked_subject],
	)
}

deny contains violation("changes_after_lock", msg) if {
	input.action in closed_cycle_actions
	input.cycle.state in {"closed", "sealed"}
	msg := sprintf(
		"Cycle %s is closed and scored: its objectives and key results can no longer change. Carry the change into the next cycle instead.",
		[cycle_label],
	)
}

# The change request in the input is approved, and for exactly what the command changes.
approved_request_for_this_resource if {
	input.change_request.status == "approved"
	request_is_for_this_resource(input.change_request)
}

# A request on an existing key result or objective names it as its target.
request_is_for_this_resource(request) if {
	is_string(input.resource.id)
	request.target.kind == input.resource.kind
	request.target.id == input.resource.id
}

# Requests recorded before they named a target name their key result.
request_is_for_this_resource(request) if {
	input.resource.kind == "key_result"
	is_string(input.resource.id)
	request.key_result_id == input.resource.id
}

# A request for a new key result names its objective; one for a new objective, its cycle.
request_is_for_this_resource(request) if {
	input.action == "key_result.add"
	request.kind == "add_key_result"
	request.target.id == input.objective.id
}

request_is_for_this_resource(request) if {
	input.action == "objective.create"
	request.kind == "add_objective"
	request.target.id == input.cycle.id
}

locked_subject := sprintf("key result %s", [shown(input.resource.id)]) if {
	input.resource.kind == "key_result"
	is_string(input.resource.id)
} else := sprintf("objective %s", [objective_label]) if {
	input.resource.kind == "objective"
	is_string(input.resource.id)
} else := "what the cycle scores (its objectives and key results)"

# ---------------------------------------------------------------------------------------
# deny: four_eyes
# ---------------------------------------------------------------------------------------
# Why: a change to a locked commitment must be agreed by a second person, so that nobody
# can move their own goalposts alone. The requester can neither approve nor reject (a
# self-rejection would also decide alone on the record). User ids reach the rules in their
# canonical form (trimmed, NFKC, case-folded), so no spelling of a name is a second person.
deny contains violation("four_eyes", msg) if {
	input.action in decision_actions
	has_text(input.actor.id)
	input.actor.id == input.change_request.requester
	msg := sprintf(
		"%s requested change request %s and cannot decide it: another person must approve or reject it (four-eyes principle).",
		[input.actor.id, shown(object.get(input, ["change_request", "id"], null))],
	)
}

# ---------------------------------------------------------------------------------------
# deny: approver_role
# ---------------------------------------------------------------------------------------
# Why: the second person must also have the standing to accept a change to a commitment:
# owning the objective, or being a colleague of the requester, is not enough. Which roles
# may decide is the firm's choice (data.json "change_approval.approver_roles"; shipped:
# executives), governed like every other rule: a risk officer proposes a change to it and
# another approves it. Without the setting nobody may decide (fail closed).
deny contains violation("approver_role", msg) if {
	input.action in decision_actions
	not may_decide_change_requests
	msg := sprintf(
		"%s (roles: %s) may not decide change requests: only %s may approve or reject them. Ask one of them to decide this request.",
		[shown(object.get(input, ["actor", "id"], null)), concat(", ", actor_roles), approver_roles_text],
	)
}

approver_roles := data.change_approval.approver_roles if is_array(data.change_approval.approver_roles)

else := []

actor_roles := sort([role | some role in input.actor.roles; is_string(role)]) if is_array(input.actor.roles)

else := []

may_decide_change_requests if {
	some role in actor_roles
	role in approver_roles
}

approver_roles_text := concat(", ", sort(approver_roles)) if count(approver_roles) > 0

else := "nobody (data.change_approval.approver_roles is not set)"

# ---------------------------------------------------------------------------------------
# deny: sales_conduct
# ---------------------------------------------------------------------------------------
# Why: goals on sales volume for people who deal with clients (sales, revenue, assets
# raised, new accounts, products sold, cross-selling) are a known cause of mis-selling and
# unsuitable advice: the conduct regulator expects client-facing staff to be measured on
# the quality of client outcomes, not on volume. Job roles come from the people directory,
# in the input ("people": user id -> {"job_role", "active"}, filled in by the platform from
# the directory that SCIM provisioning and sign-in keep), never from a list in the policy's
# data; which roles face clients from data.json "client_facing_roles"; the volume words
# from "sales_volume_terms". Someone the directory does not know has no job role here.
deny contains violation("sales_conduct", msg) if {
	is_object(proposed)
	kr := proposed
	some owner, role in job_roles
	owner == object.get(kr, "owner", null)
	role in data.client_facing_roles
	terms := [term | some term in data.sales_volume_terms; mentions(proposed_text, term)]
	count(terms) > 0
	msg := sprintf(
		"Key result %s measures sales volume (%s) and its owner %s is in a client-facing role (%s). Give client-facing staff client-outcome measures instead (e.g. complaints, suitability findings, client retention), or give the volume measure to a non-client-facing owner.",
		[label(kr), concat(", ", terms), owner, role],
	)
}

# user id -> job role, for the people of the input the directory gives one (iterated, never
# indexed, so an unknown owner is no match rather than an undefined value).
job_roles := {user: role |
	is_object(input.people)
	some user, person in input.people
	is_object(person)
	role := object.get(person, "job_role", null)
	is_string(role)
}

# ---------------------------------------------------------------------------------------
# warn: activity_not_outcome
# ---------------------------------------------------------------------------------------
# Why: a key result should say what will be different (an outcome), not what someone will
# do (an activity). "Hold ten client meetings" can be completed while nothing improves;
# "Client retention from 88% to 93%" cannot. Word lists: data.json "activity_words".
warn contains violation("activity_not_outcome", msg) if {
	is_object(proposed)
	kr := proposed
	reads_as_activity(proposed_words.title)
	msg := sprintf(
		"Key result %s reads as an activity, not an outcome. State the result the activity should produce and how it is measured (e.g. \"Onboarding time from 20 to 10 days\" rather than \"Launch the onboarding project\").",
		[label(kr)],
	)
}

reads_as_activity(text) if {
	words := split(trim_space(text), " ")
	words[0] in data.activity_words.first
}

reads_as_activity(text) if {
	some words in data.activity_words.anywhere
	mentions(text, words)
}

# ---------------------------------------------------------------------------------------
# warn: objective_title_shape
# ---------------------------------------------------------------------------------------
# Why: an objective is the qualitative "what and why"; numbers belong in its key results,
# where they are measured and scored. A title of fewer than four words rarely says why the
# objective matters; one of more than eighteen is usually several objectives at once.
warn contains violation("objective_title_shape", msg) if {
	title := objective_title
	is_string(title)
	regex.match(`[0-9]`, title)
	msg := sprintf(
		"Objective %s contains digits. Keep the objective qualitative and move the numbers into its key results.",
		[quoted(title)],
	)
}

warn contains violation("objective_title_shape", msg) if {
	title := objective_title
	is_string(title)
	n := count(words_of(title))
	bounds := limits.objective_title_words
	n < bounds.min
	msg := sprintf(
		"Objective %s has %d words. Say in %s to %s words what you want to achieve and why it matters.",
		[quoted(title), n, number_text(bounds.min), number_text(bounds.max)],
	)
}

warn contains violation("objective_title_shape", msg) if {
	title := objective_title
	is_string(title)
	n := count(words_of(title))
	bounds := limits.objective_title_words
	n > bounds.max
	msg := sprintf(
		"Objective %s has %d words, more than %s. Keep one aim per objective: shorten it, or split it into separate objectives.",
		[quoted(title), n, number_text(bounds.max)],
	)
}

# ---------------------------------------------------------------------------------------
# warn: growth_without_guardrail
# ---------------------------------------------------------------------------------------
# Why: pushing a number up in a regulated domain (investment, conduct, credit: data.json
# "regulated_domains") can be achieved by taking more risk or by harming clients. A paired
# guardrail (a health measure that must not get worse, such as complaints, losses or
# breaches) makes such a shortcut visible. The key result carries its own guardrail_metric,
# or the objective has another key result that is a guardrail: a decrease in the same risk
# domain, or one with a guardrail_metric.
warn contains violation("growth_without_guardrail", msg) if {
	is_object(proposed)
	kr := proposed
	kr.direction == "increase"
	kr.risk_domain in data.regulated_domains
	not has_text(object.get(kr, "guardrail_metric", null))
	not paired_with_guardrail(kr)
	msg := sprintf(
		"Key result %s grows a number in the regulated %s domain without a guardrail. Set its guardrail_metric (e.g. complaints, losses or breaches that must not rise), or add a key result on this objective that reduces a risk measure in the %s domain.",
		[label(kr), kr.risk_domain, kr.risk_domain],
	)
}

paired_with_guardrail(kr) if {
	some sibling in siblings
	sibling.direction == "decrease"
	sibling.risk_domain == kr.risk_domain
}

paired_with_guardrail(_) if {
	some sibling in siblings
	has_text(sibling.guardrail_metric)
}

# ---------------------------------------------------------------------------------------
# warn: sandbagging
# ---------------------------------------------------------------------------------------
# Why: when owners are almost certain at lock that they will hit their key results, the
# targets were probably set low ("sandbagged"), and the board would read a comfortable
# score as success. Checked when the cycle is locked, over the latest confidence of each
# objective's key results and of the whole cycle; threshold: data.json
# limits.sandbagging_confidence.
#
# Confidences are compared in whole basis points (0.9 = 9000), so that the sum and the
# threshold are integers and no engine's float rounding decides whether an average of
# exactly the threshold is "above" it (see confidence_points).
warn contains violation("sandbagging", msg) if {
	input.action == "cycle.lock"
	some objective_id, objective in locked_objectives
	above_sandbagging_line(objective.points)
	msg := sprintf(
		"The key results of objective %s have an average confidence of %s at lock, above %s: the targets may be too safe. Raise them to a real stretch, or record why near-certainty is right here.",
		[id_text(objective_id), average_text(objective.points), sandbagging_line_text],
	)
}

warn contains violation("sandbagging", msg) if {
	input.action == "cycle.lock"
	points := cycle_points
	above_sandbagging_line(points)
	msg := sprintf(
		"The key results of cycle %s have an average confidence of %s at lock, above %s: the cycle's targets may be too safe. Review them for stretch before the quarter starts.",
		[cycle_label, average_text(points), sandbagging_line_text],
	)
}

# The average of these confidences (basis points) is above the line: sum > line x count.
above_sandbagging_line(points) if {
	count(points) > 0
	sum(points) > sandbagging_line * count(points)
}

sandbagging_line := round(limits.sandbagging_confidence * 10000)

sandbagging_line_text := percent_text(sandbagging_line)

# A key result's latest confidence in whole basis points: as the platform prepared it
# (confidence_basis_points, rounded half to even from the recorded decimal), or, in an
# input recorded before it did, rounded here; null when it has none (never checked in on).
confidence_points(kr) := kr.confidence_basis_points if {
	is_number(kr.confidence_basis_points)
} else := round(kr.confidence * 10000) if {
	is_number(kr.confidence)
} else := null

# The average, rounded down to a basis point, as a percentage: "93.50%".
average_text(points) := percent_text((sum(points) - (sum(points) % count(points))) / count(points))

# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------

# At lock, per objective: how many key results it has and their latest confidences in
# basis points (key results never checked in on have none). The platform sums them up in
# the input (cycle_summary, one pass over the key results); an input recorded before it
# did is summed up here (a pass over the key results per objective).
locked_objectives := input.cycle_summary.objectives if {
	input.action == "cycle.lock"
	is_object(input.cycle_summary.objectives)
} else := summed_up_objectives if input.action == "cycle.lock"

summed_up_objectives[objective_id] := {"key_results": count(key_results), "points": points} if {
	some objective_id in {kr.objective_id | some kr in cycle_key_results}
	key_results := [kr | some kr in cycle_key_results; kr.objective_id == objective_id]
	points := [p | some kr in key_results; p := confidence_points(kr); p != null]
}

# At lock, the latest confidence of every key result of the cycle, in basis points.
cycle_points := input.cycle_summary.points if {
	is_array(input.cycle_summary.points)
} else := [p | some kr in cycle_key_results; p := confidence_points(kr); p != null]

violation(rule, message) := {"rule": rule, "message": message}

# Text with something other than white space in it: what is left when white space is
# trimmed from both ends. White space is the explicit list below (Unicode's White_Space
# characters and the zero-width space), not an engine's idea of `\s` (RE2 in OPA reads
# it as ASCII white space only, regorus as all of Unicode's) nor of trim_space. Trimming
# by a list of characters (trim) is the same in both engines and costs no regex.
has_text(value) if {
	is_string(value)
	trim(value, white_space) != ""
}

white_space := "\t\n\u000b\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000"

words_of(text) := [word |
	some word in regex.split(`[\t\n\x{0B}\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200B}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]+`, text)
	word != ""
]

# Messages write values by these helpers only, never by sprintf's %q, %v or %f: OPA and
# regorus quote, round and spell numbers differently (%.2f ties, 1e-05 against 0.00001,
# -0, integers past 2^53).

# A quoted string: the text between double quotes, as it is.
quoted(text) := concat("", ["\"", text, "\""])

# A quoted title for messages.
label(kr) := quoted(kr.title) if is_string(kr.title)

else := "(untitled)"

# A quoted string for messages; "(none)" for anything else (null included).
shown(value) := quoted(value) if is_string(value)

else := "(none)"

# A number as its digits when it is whole and below 10^15 (format_int, exact in both
# engines), otherwise said in words.
number_text(value) := "0" if {
	is_number(value)
	value == 0
} else := format_int(value, 10) if {
	is_number(value)
	value == floor(value)
	abs(value) < 1000000000000000
} else := "a number of 16 digits or more" if {
	is_number(value)
	abs(value) >= 1000000000000000
} else := "a non-whole number"

# Any value for a message: a string quoted, a number as number_text, else its type.
value_text(value) := quoted(value) if is_string(value)

else := number_text(value) if is_number(value)

else := type_name(value)

# An id as it is (ids are strings); anything else as value_text.
id_text(value) := value if is_string(value)

else := value_text(value)

# Basis points (whole, not negative) as a percentage with two decimals: 9350 -> "93.50%".
percent_text(points) := concat("", [format_int((points - (points % 100)) / 100, 10), ".", two_digits(points % 100), "%"])

two_digits(n) := concat("", ["0", format_int(n, 10)]) if n < 10

else := format_int(n, 10)

objective_label := shown(object.get(input, ["objective", "title"], null))

cycle_label := shown(object.get(input, ["cycle", "name"], null))

# Words are matched whole, ignoring case and punctuation: the title "Cross-selling to LPs"
# mentions "cross selling"; "Training attendance" does not mention "attend".
#
# The platform prepares each text's words in the input (resource.words: Unicode folded to
# ASCII by compatibility decomposition, accents dropped, lower case, runs of anything but
# a-z and 0-9 as single spaces, padded: "NET İNFLOWS" -> " net inflows "), one method for
# every engine: OPA and regorus lower-case and classify non-ASCII letters differently.
# An input without them (recorded before they were prepared) is folded here, ASCII only:
# anything but A-Z, a-z and 0-9 is a separator, and only then is it lower-cased.
normalised(text) := concat("", [" ", trim_space(lower(regex.replace(text, `[^A-Za-z0-9]+`, " "))), " "])

# A phrase from data.json, padded: "cross sell" -> " cross sell ". Phrases in data.json are
# written as they come out of normalised(): lower-case words (a-z, 0-9) separated by single
# spaces, so "cross sell" (which also matches "Cross-sell" in a title); a test checks it.
phrase(words) := concat("", [" ", words, " "])

# Prepared words mention a phrase: it occurs in them as whole words. Most phrases do not
# occur at all, which the plain test finds without building the padded phrase.
mentions(text, words) if {
	contains(text, words)
	contains(text, phrase(words))
}

# The key result's title and unit as words, prepared by the platform or folded here.
proposed_words[field] := words_of_field(field, proposed[field]) if {
	some field in ["title", "unit"]
	is_string(proposed[field])
}

words_of_field(field, _) := prepared if {
	prepared := input.resource.words[field]
	is_string(prepared)
} else := normalised(text) if {
	text := proposed[field]
}

# Both in one text to search ("|" never occurs in a phrase, so none matches across them).
proposed_text := concat("|", [text | some text in proposed_words])
