package actions

import (
	"fmt"
	"strings"
	"time"
)

// Containment marks a request that "This wasn't me" started: one per action
// of the policy's containment list, run on the user who reported, at once,
// in order, without approval. The two-person rule is waived only for these,
// because they only protect: they sign an attacker out and keep them out.
type Containment struct {
	// Reported is the request the user said was not them.
	Reported string
	// Step is this request's place (from 1) among Steps.
	Step, Steps int
	// After is the containment request that runs before this one, "" for
	// the first; an executor takes this one up only once that has ended.
	After string
}

// DefaultReportTTL is how long the "This wasn't me" button works after the
// action ran: long enough for a user back from a week away, short enough
// that an old notice does not lock an account out of the blue.
const DefaultReportTTL = 7 * 24 * time.Hour

// ReportContainmentDetail is the `approved` event detail of a containment
// request.
const ReportContainmentDetail = "containment"

// Report is what ReportNotMe produced: the reported request as stored and
// the containment requests started, in the order they run.
type Report struct {
	Reported    Request
	Containment []Request
}

// ReportNotMe records by's "This wasn't me" on r: by must be a target the
// action ran on, within ttl of its result. It returns r with the report's
// notices (to the security channel and to by, held until the containment
// has ended), the containment requests (approved, one per action of
// pol.Containment, each running after the one before), and the events:
// `reported_not_me`, then each containment request's `created` and
// `approved`. newID makes request IDs. Errors: ErrForbidden when by is not
// a target of r (or r is itself a containment), ErrConflict when the action
// did not run on by, ErrExpired past ttl, ErrDuplicate when by reported r
// already.
func (r Request) ReportNotMe(pol *Policy, by Person, ttl time.Duration, newID func() string, now time.Time) (Request, []Request, []Event, error) {
	i := -1
	for k, t := range r.Targets {
		if t.Person().Is(by) {
			i = k
			break
		}
	}
	switch {
	case r.Containment != nil:
		return r, nil, nil, decisionErr(ErrForbidden, "request %s is a containment, not something to report", r.ID)
	case i < 0:
		return r, nil, nil, decisionErr(ErrForbidden, "only the user request %s acted on can report it", r.ID)
	}
	t := r.Targets[i]
	switch {
	case t.Result == nil || t.Result.Outcome != OutcomeOK:
		return r, nil, nil, decisionErr(ErrConflict, "request %s did not change your account, so there is nothing to report", r.ID)
	case !now.Before(t.Result.At.Add(ttl)):
		return r, nil, nil, decisionErr(ErrExpired, "the report button of request %s worked until %s", r.ID,
			t.Result.At.Add(ttl).UTC().Format("2006-01-02 15:04 MST"))
	}
	for _, n := range r.Notices {
		if n.To == NoticeSecurity && n.Target == i {
			return r, nil, nil, decisionErr(ErrDuplicate, "you reported request %s already, at %s", r.ID, n.CreatedAt.UTC().Format("15:04 MST"))
		}
	}

	ref := t.Ref()
	report := r.event(EventReportedNotMe, by.SlackID, now)
	report.Target = &ref
	events := []Event{report}
	var steps []Request
	var names []string
	after := ""
	for k, a := range pol.Containment {
		c := Request{
			ID: newID(), Requester: by, Action: a,
			Targets: []Target{{SlackID: t.SlackID, Email: t.Email, DirectoryID: t.DirectoryID, Privileged: t.Privileged}},
			Reason:  fmt.Sprintf("containment: %s reported request %s (%s) as \"This wasn't me\"", display(by), r.ID, r.Action),
			State:   StateApproved, CreatedAt: now, ExpiresAt: now, UpdatedAt: now,
			SubmissionKey: fmt.Sprintf("not_me:%s:%d:%d", r.ID, i, k+1),
			Containment:   &Containment{Reported: r.ID, Step: k + 1, Steps: len(pol.Containment), After: after},
		}
		created := c.event(EventCreated, by.SlackID, now)
		created.Targets = c.Refs()
		created.Detail = fmt.Sprintf("containment of request %s, reported as \"This wasn't me\"; step %d of %d", r.ID, k+1, len(pol.Containment))
		approved := c.event(EventApproved, BotActor, now)
		approved.Detail = ReportContainmentDetail
		events = append(events, created, approved)
		steps = append(steps, c)
		names = append(names, c.ID+" "+string(a))
		after = c.ID
	}
	if len(steps) == 0 {
		events[0].Detail = "no containment: the policy lists none"
	} else {
		events[0].Detail = "containment: " + strings.Join(names, ", ")
	}

	n := r.Clone()
	n.UpdatedAt = now
	n.Notices = append(n.Notices,
		Notice{To: NoticeSecurity, Target: i, State: NoticeDue, After: after, CreatedAt: now, UpdatedAt: now},
		Notice{To: NoticeReporter, Target: i, State: NoticeDue, After: after, Recipient: by.SlackID, CreatedAt: now, UpdatedAt: now})
	return n, steps, events, nil
}
