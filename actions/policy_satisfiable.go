package actions

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Unsatisfiable lists what in the policy no one can carry out: a role with
// no members, an action no one may approve, an action with fewer eligible
// approvers than approval.approvals (the requester never counts), an action
// whose only requesters are its only approvers, and privileged roles too
// small for a request on an admin. The policy is valid all the same; these
// are warnings (`mfadesk check` reports them, `serve` logs them). People are
// counted as listed: one listed by Slack ID and by email counts twice.
func (pol *Policy) Unsatisfiable() []string {
	var out []string
	roles := make([]string, 0, len(pol.Roles))
	for r := range pol.Roles {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		if len(pol.Roles[r]) == 0 {
			out = append(out, fmt.Sprintf("roles.%s has no members", r))
		}
	}
	for _, a := range pol.Enabled() {
		rule := pol.Actions[a]
		out = append(out, pol.unsatisfiable("actions."+string(a), pol.members(rule.Request), pol.members(rule.Approve))...)
	}
	if len(pol.PrivilegedRoles) > 0 && len(pol.Actions) > 0 {
		priv := pol.members(pol.PrivilegedRoles)
		out = append(out, pol.unsatisfiable("privileged.roles (for targets who hold an admin role)", priv, priv)...)
	}
	return out
}

// unsatisfiable checks one set of requesters and approvers against the
// number of approvals.
func (pol *Policy) unsatisfiable(what string, requesters, approvers []string) []string {
	n := pol.Approvals
	switch {
	case len(requesters) == 0:
		return []string{what + ": no one may request it (its request roles have no members)"}
	case len(approvers) == 0:
		return []string{what + ": no one may approve it (its approve roles have no members)"}
	case len(approvers) < n:
		return []string{fmt.Sprintf("%s: approval.approvals is %d but only %d %s may approve it", what, n, len(approvers), people(len(approvers)))}
	}
	// The requester never approves their own request: someone must have n
	// approvers besides themself.
	for _, r := range requesters {
		others := len(approvers)
		if slices.Contains(approvers, r) {
			others--
		}
		if others >= n {
			return nil
		}
	}
	return []string{fmt.Sprintf("%s: every requester is one of its approvers, so a request can get at most %d of the %d approvals it needs (a requester never approves their own request): %s",
		what, len(approvers)-1, n, strings.Join(requesters, ", "))}
}

// members are the distinct members of roles, sorted.
func (pol *Policy) members(roles []string) []string {
	var out []string
	for _, r := range roles {
		for _, m := range pol.Roles[r] {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	sort.Strings(out)
	return out
}

func people(n int) string {
	if n == 1 {
		return "person"
	}
	return "people"
}
