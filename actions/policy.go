package actions

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ActionRule says which roles may request and which may approve an action.
type ActionRule struct {
	Request []string
	Approve []string
	// StepUp makes an approval count only after the approver signs in again,
	// with MFA, at the identity provider (the README's "Approver step-up").
	StepUp bool
	// Verify are the caller verification methods of which one must verify
	// each target before the action runs (README, "Caller verification");
	// empty: none.
	Verify []VerifyMethod
}

// Policy is the parsed policy file: roles, who may request and approve each
// action, how many approvals are needed and for how long, and the rule for
// privileged targets. A Policy is immutable once parsed.
type Policy struct {
	// Roles maps a role to its members: Slack user IDs or profile emails
	// (plain ASCII, lower-cased).
	Roles map[string][]string
	// Actions maps an action to its rule. An action missing here cannot be
	// requested.
	Actions map[Action]ActionRule
	// Approvals is the number of distinct approvers needed (approval.approvals).
	Approvals int
	// TTL is how long a request may wait for approval (approval.ttl).
	TTL time.Duration
	// MaxTargets is the most targets one request may name (limits.max_targets).
	MaxTargets int
	// StepUpMaxAge is how fresh an approver's step-up sign-in must be
	// (approval.step_up_max_age).
	StepUpMaxAge time.Duration
	// PrivilegedRoles are the roles needed to request and approve an action on
	// a target that holds an admin role (privileged.roles).
	PrivilegedRoles []string
	// NotifyTarget and NotifyManager: after an action ran on a user, tell
	// them, and their manager (notify.target, notify.manager).
	NotifyTarget  bool
	NotifyManager bool
	// Containment are the protective actions run at once, in order and
	// without approval, on a user who says "This wasn't me" (containment).
	Containment []Action
	// PerTarget limits how often one user is targeted (limits.per_target).
	PerTarget PerTargetLimit
	// VerificationTTL is how long a started caller verification waits for
	// an answer before it fails (verification.ttl).
	VerificationTTL time.Duration
}

// PerTargetLimit allows at most Max requests of Actions on one user within
// Window, counting requests that were approved or are still pending; the
// zero value allows any number. Requesters holding a privileged role are
// not limited.
type PerTargetLimit struct {
	Window  time.Duration
	Max     int
	Actions []Action
}

// Applies reports whether the limit counts requests of a.
func (l PerTargetLimit) Applies(a Action) bool {
	return l.Max > 0 && l.Window > 0 && slices.Contains(l.Actions, a)
}

// protective are the actions containment may run without approval: they
// only sign an attacker out and keep them out.
var protective = []Action{RevokeMFASessions, BlockSignIn}

// Policy defaults for keys the file leaves out.
const (
	DefaultApprovals  = 1
	DefaultTTL        = time.Hour
	DefaultMaxTargets = 50
	// DefaultStepUpMaxAge is approval.step_up_max_age when left out.
	DefaultStepUpMaxAge = 5 * time.Minute
	// DefaultVerificationTTL is verification.ttl's default.
	DefaultVerificationTTL = 30 * time.Minute
)

// LoadPolicy reads and validates the policy file at path. Its errors name the
// file, the line and the key at fault.
func LoadPolicy(path string) (*Policy, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		// docker run -v on a host file that does not exist mounts an
		// empty directory (README "Docker").
		return nil, fmt.Errorf("%s is a directory, not a policy file: if it is a bind mount, the file on the host did not exist "+
			"(copy cmd/mfadesk/policy.example.yaml to policy.yaml, then mount that file)", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return ParsePolicy(path, data)
}

var slackIDPattern = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

type policyParser struct {
	file string
	errs []string
}

func (p *policyParser) errorf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, fmt.Sprintf("%s:%d: %s", p.file, line, fmt.Sprintf(format, args...)))
}

// mapping walks a mapping node, calling fn for each key; keys not in allowed
// are reported as unknown.
func (p *policyParser) mapping(n *yaml.Node, where string, allowed []string, fn func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping", where)
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			p.errorf(k, "unknown key %q in %s (want one of %s)", k.Value, where, strings.Join(allowed, ", "))
			continue
		}
		if seen[k.Value] {
			p.errorf(k, "key %q repeated in %s", k.Value, where)
			continue
		}
		seen[k.Value] = true
		fn(k.Value, k, v)
	}
}

func (p *policyParser) strings(n *yaml.Node, where string) []string {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list", where)
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode || strings.TrimSpace(c.Value) == "" {
			p.errorf(c, "%s: each entry must be a non-empty string", where)
			continue
		}
		out = append(out, strings.TrimSpace(c.Value))
	}
	return out
}

func (p *policyParser) positiveInt(n *yaml.Node, where string, max int) int {
	var v int
	if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil || v < 1 || v > max {
		p.errorf(n, "%s must be a whole number from 1 to %d, not %q", where, max, n.Value)
		return 0
	}
	return v
}

// ParsePolicy parses and validates a policy file's content; file names it in
// errors. Unknown keys, unknown roles, unknown actions, malformed members and
// out-of-range numbers are all reported, one per line.
func ParsePolicy(file string, data []byte) (*Policy, error) {
	p := &policyParser{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlSyntaxError(file, data, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: the policy file is empty", file)
	}
	pol := &Policy{
		Roles: map[string][]string{}, Actions: map[Action]ActionRule{},
		Approvals: DefaultApprovals, TTL: DefaultTTL, MaxTargets: DefaultMaxTargets,
		StepUpMaxAge:    DefaultStepUpMaxAge,
		VerificationTTL: DefaultVerificationTTL,
	}
	roleNodes := map[string]*yaml.Node{}
	var actionRoleRefs []*yaml.Node
	var privilegedRefs []*yaml.Node

	p.mapping(doc.Content[0], "the policy", []string{"roles", "actions", "approval", "limits", "privileged", "notify", "containment", "verification"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "roles":
			p.mapping(v, "roles", nil, func(role string, rk, rv *yaml.Node) {
				roleNodes[role] = rk
				members := p.strings(rv, "roles."+role)
				for i, m := range members {
					if strings.Contains(m, "@") {
						if !PlainASCII(m) {
							p.errorf(rv.Content[i], "roles.%s: %q is not a plain ASCII email address; write it as the directory spells it in ASCII", role, m)
						}
						members[i] = asciiLower(m)
					} else if !slackIDPattern.MatchString(m) {
						p.errorf(rv.Content[i], "roles.%s: %q is neither a Slack user ID (U…/W…) nor an email", role, m)
					}
				}
				pol.Roles[role] = members
			})
		case "actions":
			p.mapping(v, "actions", nil, func(name string, ak, av *yaml.Node) {
				a := Action(name)
				if !a.Valid() {
					_, err := ParseAction(name)
					p.errorf(ak, "actions: %v", err)
					return
				}
				var rule ActionRule
				p.mapping(av, "actions."+name, []string{"request", "approve", "step_up", "verify"}, func(which string, _, lv *yaml.Node) {
					if which == "verify" {
						rule.Verify = p.verifyMethods(lv, "actions."+name+".verify")
						return
					}
					if which == "step_up" {
						if lv.Kind != yaml.ScalarNode || lv.Decode(&rule.StepUp) != nil {
							p.errorf(lv, "actions.%s.step_up must be true or false, not %q", name, lv.Value)
						}
						return
					}
					roles := p.strings(lv, "actions."+name+"."+which)
					for _, c := range lv.Content {
						actionRoleRefs = append(actionRoleRefs, c)
					}
					if which == "request" {
						rule.Request = roles
					} else {
						rule.Approve = roles
					}
				})
				if len(rule.Request) == 0 {
					p.errorf(ak, "actions.%s: request must name at least one role", name)
				}
				if len(rule.Approve) == 0 {
					p.errorf(ak, "actions.%s: approve must name at least one role", name)
				}
				pol.Actions[a] = rule
			})
		case "approval":
			p.mapping(v, "approval", []string{"approvals", "ttl", "step_up_max_age"}, func(which string, _, av *yaml.Node) {
				switch which {
				case "approvals":
					pol.Approvals = p.positiveInt(av, "approval.approvals", 10)
				case "ttl":
					d, err := time.ParseDuration(av.Value)
					if av.Kind != yaml.ScalarNode || err != nil || d < time.Minute || d > 30*24*time.Hour {
						p.errorf(av, "approval.ttl must be a duration from 1m to 720h such as 1h or 30m, not %q", av.Value)
						return
					}
					pol.TTL = d
				case "step_up_max_age":
					d, err := time.ParseDuration(av.Value)
					if av.Kind != yaml.ScalarNode || err != nil || d < time.Minute || d > time.Hour {
						p.errorf(av, "approval.step_up_max_age must be a duration from 1m to 1h such as 5m, not %q", av.Value)
						return
					}
					pol.StepUpMaxAge = d
				}
			})
		case "limits":
			p.mapping(v, "limits", []string{"max_targets", "per_target"}, func(which string, _, lv *yaml.Node) {
				if which == "per_target" {
					pol.PerTarget = p.perTarget(lv)
					return
				}
				pol.MaxTargets = p.positiveInt(lv, "limits.max_targets", 1000)
			})
		case "notify":
			p.mapping(v, "notify", []string{"target", "manager"}, func(which string, _, nv *yaml.Node) {
				b := p.boolean(nv, "notify."+which)
				if which == "target" {
					pol.NotifyTarget = b
				} else {
					pol.NotifyManager = b
				}
			})
		case "containment":
			pol.Containment = p.containment(v)
		case "verification":
			p.mapping(v, "verification", []string{"ttl"}, func(_ string, _, tv *yaml.Node) {
				d, err := time.ParseDuration(tv.Value)
				if tv.Kind != yaml.ScalarNode || err != nil || d < time.Minute || d > 24*time.Hour {
					p.errorf(tv, "verification.ttl must be a duration from 1m to 24h such as 30m, not %q", tv.Value)
					return
				}
				pol.VerificationTTL = d
			})
		case "privileged":
			p.mapping(v, "privileged", []string{"roles"}, func(_ string, _, rv *yaml.Node) {
				pol.PrivilegedRoles = p.strings(rv, "privileged.roles")
				privilegedRefs = append(privilegedRefs, rv.Content...)
			})
		}
	})
	for _, ref := range append(actionRoleRefs, privilegedRefs...) {
		if _, ok := pol.Roles[ref.Value]; !ok && ref.Kind == yaml.ScalarNode {
			p.errorf(ref, "unknown role %q: it is not defined under roles", ref.Value)
		}
	}
	if len(p.errs) > 0 {
		return nil, fmt.Errorf("invalid policy:\n%s", strings.Join(p.errs, "\n"))
	}
	return pol, nil
}

// HasRole reports whether p is a member of role, by Slack ID or by email.
func (pol *Policy) HasRole(p Person, role string) bool {
	for _, m := range pol.Roles[role] {
		if m == p.SlackID && p.SlackID != "" {
			return true
		}
		if SameEmail(m, p.Email) {
			return true
		}
	}
	return false
}

// RolesOf returns the roles p holds, sorted.
func (pol *Policy) RolesOf(p Person) []string {
	var out []string
	for role := range pol.Roles {
		if pol.HasRole(p, role) {
			out = append(out, role)
		}
	}
	slices.Sort(out)
	return out
}

func (pol *Policy) holdsAny(p Person, roles []string) bool {
	for _, r := range roles {
		if pol.HasRole(p, r) {
			return true
		}
	}
	return false
}

// rolesFor returns the roles that may take part in action a: the action's
// request or approve roles, or, when a target is privileged, the privileged
// roles instead. Privileged roles replace the action's lists: a helpdesk
// role that may reset ordinary users must not reach administrators.
func (pol *Policy) rolesFor(a Action, approve, privileged bool) ([]string, bool) {
	rule, ok := pol.Actions[a]
	if !ok {
		return nil, false
	}
	if privileged {
		return pol.PrivilegedRoles, true
	}
	if approve {
		return rule.Approve, true
	}
	return rule.Request, true
}

// CanRequest reports whether p may request a, on privileged targets or not.
func (pol *Policy) CanRequest(p Person, a Action, privileged bool) bool {
	roles, ok := pol.rolesFor(a, false, privileged)
	return ok && pol.holdsAny(p, roles)
}

// CanApprove reports whether p holds a role that may approve a.
func (pol *Policy) CanApprove(p Person, a Action, privileged bool) bool {
	roles, ok := pol.rolesFor(a, true, privileged)
	return ok && pol.holdsAny(p, roles)
}

// Requestable returns the actions p may request on ordinary or on privileged
// targets, in the stable order of AllActions.
func (pol *Policy) Requestable(p Person) []Action {
	var out []Action
	for _, a := range allActions {
		if pol.CanRequest(p, a, false) || pol.CanRequest(p, a, true) {
			out = append(out, a)
		}
	}
	return out
}

// Enabled returns the actions the policy lets anyone request, in stable order.
func (pol *Policy) Enabled() []Action {
	var out []Action
	for _, a := range allActions {
		if _, ok := pol.Actions[a]; ok {
			out = append(out, a)
		}
	}
	return out
}

// StepUp reports whether approving a needs a step-up sign-in.
func (pol *Policy) StepUp(a Action) bool { return pol.Actions[a].StepUp }

// StepUpActions returns the actions whose approval needs a step-up sign-in,
// in stable order; none means step-up needs no configuration.
func (pol *Policy) StepUpActions() []Action {
	var out []Action
	for _, a := range pol.Enabled() {
		if pol.StepUp(a) {
			out = append(out, a)
		}
	}
	return out
}

// Rule returns the policy's rule for a, with the roles needed when privileged
// targets are involved, for explaining a refusal.
func (pol *Policy) Rule(a Action, privileged bool) (request, approve []string) {
	if privileged {
		return pol.PrivilegedRoles, pol.PrivilegedRoles
	}
	r := pol.Actions[a]
	return r.Request, r.Approve
}

// verifyMethods reads a list of verification methods, each known and listed
// once.
func (p *policyParser) verifyMethods(n *yaml.Node, where string) []VerifyMethod {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list", where)
		return nil
	}
	var out []VerifyMethod
	for _, c := range n.Content {
		m, err := ParseVerifyMethod(c.Value)
		switch {
		case c.Kind != yaml.ScalarNode || err != nil:
			p.errorf(c, "%s: unknown verification method %q: want one of target, manager, push", where, c.Value)
		case slices.Contains(out, m):
			p.errorf(c, "%s: %s is listed twice", where, m)
		default:
			out = append(out, m)
		}
	}
	return out
}

// VerifyMethods returns the caller verification methods the policy lists for
// a (one of which must verify each target), nil when none.
func (pol *Policy) VerifyMethods(a Action) []VerifyMethod {
	return append([]VerifyMethod(nil), pol.Actions[a].Verify...)
}

// SureHoldsNoRole reports whether no role lists the Slack user ID slackID and
// no role has an email member, so that slackID holds no role whatever their
// email is. It needs no I/O; false means "look them up".
func (pol *Policy) SureHoldsNoRole(slackID string) bool {
	for _, members := range pol.Roles {
		for _, m := range members {
			if m == slackID || strings.Contains(m, "@") {
				return false
			}
		}
	}
	return true
}
