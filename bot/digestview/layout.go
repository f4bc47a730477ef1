// Package digestview shows audit digests: as Block Kit for Slack, as plain
// text for `mfadesk digest --print`, and as a PNG chart of requests per day;
// and posts them to Slack. Rendering is pure: a digest.Digest in, blocks,
// text or PNG out. Both renderings come from one layout, so the text says
// exactly what the message says.
package digestview

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/digest"
)

// part is one piece of the layout: a block in Slack, a paragraph in text.
type part struct {
	kind  partKind
	title string   // header text, or a section's bold first line
	lines []string // the section's lines, formatted for the target
	more  int      // items of the list that are not in lines
	// bullets marks the lines as items of a list.
	bullets bool
	// fields are a section's side-by-side columns (Slack), each with
	// its own title.
	fields []part
}

type partKind int

const (
	partHeader partKind = iota
	partContext
	partSection
	partCode
	partDivider
)

// style formats the pieces of a line for one target: Slack mrkdwn or text.
type style interface {
	user(id string) string
	code(s string) string
	bold(s string) string
	esc(s string) string
}

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

type mrkdwnStyle struct{}

func (mrkdwnStyle) user(id string) string {
	if slackUserID.MatchString(id) {
		return "<@" + id + ">"
	}
	return esc(id)
}
func (mrkdwnStyle) code(s string) string {
	return "`" + strings.ReplaceAll(esc(s), "`", "'") + "`"
}
func (mrkdwnStyle) bold(s string) string { return "*" + esc(s) + "*" }
func (mrkdwnStyle) esc(s string) string  { return esc(s) }

type textStyle struct{}

func (textStyle) user(id string) string { return id }
func (textStyle) code(s string) string  { return s }
func (textStyle) bold(s string) string  { return s }
func (textStyle) esc(s string) string   { return s }

// esc escapes the three characters Slack's mrkdwn reserves.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// oneLine flattens s and cuts it to n runes, for free text in a list.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

const (
	maxDetail = 160 // free text (reasons, errors) per list line
	timeShort = "Mon 2 Jan 15:04"
	timeLong  = "Mon 2 Jan 2006 15:04"
)

// layout is the digest as parts, for st.
func layout(d digest.Digest, st style) []part {
	loc := d.Location
	if loc == nil {
		loc = d.Hours.Loc()
	}
	when := func(t time.Time) string { return t.In(loc).Format(timeShort) }
	title := fmt.Sprintf("MFA admin digest: %s – %s", d.Period.Start.In(loc).Format("2 Jan"), d.Period.End.In(loc).Format("2 Jan 2006"))
	parts := []part{
		{kind: partHeader, title: title},
		{kind: partContext, lines: []string{fmt.Sprintf("%s → %s (%s) · %d audit events",
			d.Period.Start.In(loc).Format(timeLong), d.Period.End.In(loc).Format(timeLong), loc, d.Events)}},
	}
	parts = append(parts, overview(d, st)...)
	parts = append(parts, part{kind: partDivider})
	parts = append(parts, listPart(st, "Denied, expired and cancelled", d.Closed, func(c digest.Closed) string {
		var who string
		switch c.State {
		case actions.StateDenied:
			who = "denied by " + st.user(c.By)
			if c.Note != "" {
				who += ": " + st.esc(quote(c.Note))
			}
		case actions.StateExpired:
			who = "expired"
			if c.Note != "" {
				who += " (" + st.esc(oneLine(c.Note, maxDetail)) + ")"
			}
		default:
			who = "cancelled by " + st.user(c.By)
		}
		return fmt.Sprintf("%s %s by %s, %s · reason %s · %s", st.code(c.RequestID), st.esc(string(c.Action)),
			st.user(c.Requester), who, st.esc(quote(c.Reason)), when(c.At))
	}))
	parts = append(parts, listPart(st, "Failures", d.Failures, func(f digest.Failure) string {
		return fmt.Sprintf("%s %s on %s: %s · %s", st.code(f.RequestID), st.esc(string(f.Action)), target(st, f.Target),
			st.esc(oneLine(f.Detail, maxDetail)), when(f.At))
	}))
	parts = append(parts, listPart(st, "Refused", d.Refused, func(r digest.Refusal) string {
		on := "a new request"
		if r.RequestID != "" {
			on = st.code(r.RequestID)
		}
		action := ""
		if r.Action != "" {
			action = " " + st.esc(string(r.Action))
		}
		return fmt.Sprintf("%s on %s%s: %s · %s", st.user(r.Actor), on, action, st.esc(oneLine(r.Detail, maxDetail)), when(r.At))
	}))
	parts = append(parts, part{kind: partDivider}, part{kind: partHeader, title: "What deserves a look"})
	parts = append(parts, look(d, st, when)...)
	parts = append(parts, part{kind: partDivider}, witness(d, st))
	return dropEmpty(parts)
}

// overview is the counts: totals, the table per action, and who.
func overview(d digest.Digest, st style) []part {
	if d.Quiet() {
		return []part{{kind: partSection, lines: []string{"Nothing happened in this period."}}}
	}
	t := d.Total()
	lines := []string{
		fmt.Sprintf("%s %s · %s %s · %s refused", st.bold(fmt.Sprint(t.Requested)), noun(t.Requested, "request made", "requests made"),
			st.bold(fmt.Sprint(t.Approvals)), noun(t.Approvals, "approval given", "approvals given"), st.bold(fmt.Sprint(t.Refused))),
		fmt.Sprintf("Ended: %d succeeded · %d partially failed · %d failed · %d denied · %d expired · %d cancelled",
			t.Succeeded, t.PartiallyFailed, t.Failed, t.Denied, t.Expired, t.Cancelled),
		fmt.Sprintf("Targets: %d ok · %d failed · %d skipped", t.TargetsOK, t.TargetsFailed, t.TargetsSkipped),
	}
	parts := []part{{kind: partSection, lines: lines}}
	if len(d.Actions) > 0 {
		parts = append(parts, part{kind: partCode, title: "By action", lines: actionTable(d.Actions)})
	}
	people := part{kind: partSection}
	if !d.Requesters.Empty() {
		people.fields = append(people.fields, listPart(st, "Requesters", d.Requesters, func(p digest.PersonCount) string {
			return fmt.Sprintf("%s %d", st.user(p.SlackID), p.Count)
		}))
	}
	if !d.Approvers.Empty() {
		people.fields = append(people.fields, listPart(st, "Approvers", d.Approvers, func(a digest.ApproverCount) string {
			var did []string
			if a.Approved > 0 {
				did = append(did, fmt.Sprintf("%d approved", a.Approved))
			}
			if a.Denied > 0 {
				did = append(did, fmt.Sprintf("%d denied", a.Denied))
			}
			return st.user(a.SlackID) + " " + strings.Join(did, ", ")
		}))
	}
	if len(people.fields) > 0 {
		parts = append(parts, people)
	}
	return parts
}

// actionTable is a fixed-width table of the counts per action, with a
// total row when there are several.
func actionTable(as []digest.ActionCount) []string {
	const row = "%-27s %4s %4s %4s %4s %4s %4s %4s %4s  %s"
	lines := []string{fmt.Sprintf(row, "action", "made", "appr", "ok", "part", "fail", "deny", "exp", "canc", "targets ok/failed/skipped")}
	rows := slices.Clone(as)
	if len(as) > 1 {
		var total digest.ActionCount
		for _, a := range as {
			total = total.Add(a)
		}
		total.Action = "total"
		rows = append(rows, total)
	}
	n := func(v int) string { return fmt.Sprint(v) }
	for _, a := range rows {
		name := string(a.Action)
		if name == "" {
			name = "(no action)"
		}
		lines = append(lines, fmt.Sprintf(row, oneLine(name, 27), n(a.Requested), n(a.Approvals), n(a.Succeeded), n(a.PartiallyFailed),
			n(a.Failed), n(a.Denied), n(a.Expired), n(a.Cancelled), fmt.Sprintf("%d/%d/%d", a.TargetsOK, a.TargetsFailed, a.TargetsSkipped)))
	}
	return lines
}

// look is what deserves a look, or a line saying nothing does.
func look(d digest.Digest, st style, when func(time.Time) string) []part {
	if !d.NeedsLook() {
		return []part{{kind: partSection, lines: []string{"Nothing unusual."}}}
	}
	var parts []part
	if len(d.Dominant) > 0 {
		p := part{kind: partSection, title: "One pair dominates approvals"}
		for _, pr := range d.Dominant {
			p.lines = append(p.lines, fmt.Sprintf("%s gave %d of the %d approvals (%d%%), all to requests of %s",
				st.user(pr.Approver), pr.Count, d.Approvals, pr.Count*100/max(d.Approvals, 1), st.user(pr.Requester)))
		}
		parts = append(parts, p)
	}
	verbs := map[actions.EventKind]string{
		actions.EventCreated: "requested", actions.EventApproved: "approved", actions.EventDenied: "denied",
		actions.EventCancelled: "cancelled", actions.EventManualDone: "marked done", actions.EventManualFailed: "marked failed",
	}
	parts = append(parts, listPart(st, "Out of business hours ("+d.Hours.String()+")", d.OffHours, func(a digest.Activity) string {
		verb := verbs[a.Kind]
		if verb == "" {
			verb = string(a.Kind)
		}
		return fmt.Sprintf("%s %s %s %s %s", when(a.At), st.user(a.Actor), verb, st.code(a.RequestID), st.esc(string(a.Action)))
	}))
	flagged := func(what string) func(f digest.Flagged) string {
		return func(f digest.Flagged) string {
			return fmt.Sprintf("%s %s by %s: %d %s · %s · %s", st.code(f.RequestID), st.esc(string(f.Action)), st.user(f.Requester),
				f.Targets, what, st.esc(strings.ReplaceAll(string(f.State), "_", " ")), when(f.CreatedAt))
		}
	}
	parts = append(parts, listPart(st, "Privileged targets", d.Privileged, flagged("privileged target(s)")))
	parts = append(parts, listPart(st, fmt.Sprintf("Many targets (%d or more)", d.Rules.ManyTargets), d.ManyTargets, flagged("targets")))
	parts = append(parts, listPart(st, fmt.Sprintf("Targeted repeatedly (%d or more requests)", d.Rules.RepeatedTarget), d.Repeated,
		func(r digest.Repeated) string {
			return fmt.Sprintf("%s: %d requests", target(st, actions.TargetRef{SlackID: r.SlackID, Email: r.Email}), r.Requests)
		}))
	notMe := listPart(st, "", d.NotMe, func(n digest.NotMe) string {
		steps := make([]string, len(n.Steps))
		for i, c := range n.Steps {
			steps[i] = fmt.Sprintf("%s %s %s", st.code(c.RequestID), st.esc(string(c.Action)), st.esc(strings.ReplaceAll(string(c.State), "_", " ")))
		}
		contained := "no containment"
		if len(steps) > 0 {
			contained = "contained by " + strings.Join(steps, ", ")
		}
		return fmt.Sprintf("%s said %s %s by %s was not them · %s · %s", target(st, n.Target), st.code(n.RequestID),
			st.esc(string(n.Action)), st.user(n.Requester), contained, when(n.At))
	})
	notMe.title = fmt.Sprintf("\"This wasn't me\": %d report(s), %d containment request(s)", d.Reports, d.Containments)
	parts = append(parts, notMe)
	parts = append(parts, listPart(st, "Manual steps still open", d.OpenManual, func(m digest.OpenManual) string {
		return fmt.Sprintf("%s %s by %s, waiting since %s", st.code(m.RequestID), st.esc(string(m.Action)), st.user(m.Requester), when(m.Since))
	}))
	return parts
}

// witness states the audit chain's head and how to check it.
func witness(d digest.Digest, st style) part {
	p := part{kind: partSection, title: "Audit chain witness"}
	if d.Head.Seq == 0 {
		p.lines = []string{"The audit log had no events at the end of this period."}
		return p
	}
	p.lines = []string{
		fmt.Sprintf("At the end of this period the audit log held %s events; the last one's SHA-256 is %s.",
			st.bold(fmt.Sprint(d.Head.Seq)), st.code(d.Head.Hash)),
		fmt.Sprintf("To prove that none of them has been changed, removed or reordered since, run %s",
			st.code("mfadesk audit verify --head "+d.Head.Hash)),
	}
	return p
}

// listPart is a titled list, with its total when it was cut.
func listPart[T any](st style, title string, l digest.List[T], line func(T) string) part {
	p := part{kind: partSection, title: fmt.Sprintf("%s (%d)", title, l.Total), more: l.More(), bullets: true}
	for _, it := range l.Items {
		p.lines = append(p.lines, line(it))
	}
	return p
}

func target(st style, t actions.TargetRef) string {
	switch {
	case t.SlackID != "":
		return st.user(t.SlackID)
	case t.Email != "":
		return st.esc(t.Email)
	}
	return st.esc(t.DirectoryID)
}

func quote(s string) string { return "“" + oneLine(s, maxDetail) + "”" }

// dropEmpty leaves out lists with nothing in them.
func dropEmpty(parts []part) []part {
	out := parts[:0]
	for _, p := range parts {
		if p.kind == partSection && len(p.lines) == 0 && len(p.fields) == 0 && p.more == 0 {
			continue
		}
		out = append(out, p)
	}
	return out
}

// noun is one when n is 1, else many.
func noun(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
