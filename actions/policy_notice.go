package actions

import (
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The policy keys of notices, containment and the per-target limit.

func (p *policyParser) boolean(n *yaml.Node, where string) bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		p.errorf(n, "%s must be true or false, not %q", where, n.Value)
	}
	return b
}

func (p *policyParser) duration(n *yaml.Node, where string, lo, hi time.Duration, example string) time.Duration {
	d, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || d < lo || d > hi {
		p.errorf(n, "%s must be a duration from %s to %s such as %s, not %q", where, lo, hi, example, n.Value)
		return 0
	}
	return d
}

// actionList reads a list of action names; unknown and repeated ones are
// errors.
func (p *policyParser) actionList(n *yaml.Node, where string) []Action {
	names := p.strings(n, where)
	var out []Action
	for i, name := range names {
		a, err := ParseAction(name)
		switch {
		case err != nil:
			p.errorf(n.Content[i], "%s: %v", where, err)
		case slices.Contains(out, a):
			p.errorf(n.Content[i], "%s: %s is listed twice", where, a)
		default:
			out = append(out, a)
		}
	}
	return out
}

// containment reads the containment list: protective actions only, since
// they run without approval.
func (p *policyParser) containment(n *yaml.Node) []Action {
	acts := p.actionList(n, "containment")
	var out []Action
	for i, a := range acts {
		if !slices.Contains(protective, a) {
			names := make([]string, len(protective))
			for j, k := range protective {
				names[j] = string(k)
			}
			p.errorf(n.Content[min(i, len(n.Content)-1)], "containment: %s is not protective: containment runs without approval, so it may list only %s",
				a, strings.Join(names, ", "))
			continue
		}
		out = append(out, a)
	}
	return out
}

// perTarget reads limits.per_target; window and max are both required.
func (p *policyParser) perTarget(n *yaml.Node) PerTargetLimit {
	var l PerTargetLimit
	seen := map[string]bool{}
	p.mapping(n, "limits.per_target", []string{"window", "max", "actions"}, func(which string, _, v *yaml.Node) {
		seen[which] = true
		switch which {
		case "window":
			l.Window = p.duration(v, "limits.per_target.window", time.Minute, 90*24*time.Hour, "24h")
		case "max":
			l.Max = p.positiveInt(v, "limits.per_target.max", 1000)
		case "actions":
			l.Actions = p.actionList(v, "limits.per_target.actions")
		}
	})
	for _, k := range []string{"window", "max", "actions"} {
		if n.Kind == yaml.MappingNode && !seen[k] {
			p.errorf(n, "limits.per_target: %s is required", k)
		}
	}
	return l
}

// HoldsPrivileged reports whether p holds one of the privileged roles
// (privileged.roles).
func (pol *Policy) HoldsPrivileged(p Person) bool { return pol.holdsAny(p, pol.PrivilegedRoles) }
