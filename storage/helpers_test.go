package storage_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
)

// approverCount is how many distinct people hold the approving role.
const approverCount = 60

var (
	requester  = actions.Person{SlackID: "U0HELP1", Email: "help1@example.com"}
	requester2 = actions.Person{SlackID: "U0HELP2", Email: "help2@example.com"}
	// t0 has nanoseconds and a zone on purpose: the store keeps
	// microseconds, in UTC.
	t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))
)

// approver returns the i-th of the people holding the approving role.
func approver(i int) actions.Person {
	return actions.Person{SlackID: fmt.Sprintf("UAPPR%02d", i), Email: fmt.Sprintf("appr%02d@example.com", i)}
}

// testPolicy returns a policy where U0HELP1 and U0HELP2 request and UAPPR00… approve
// reset-password (automated) and delete-app-passwords (a manual step), with
// approvals approvals needed.
func testPolicy(t testing.TB, approvals int) *actions.Policy {
	t.Helper()
	members := make([]string, approverCount)
	for i := range members {
		members[i] = approver(i).SlackID
	}
	yaml := fmt.Sprintf(`
roles:
  helpdesk: [U0HELP1, U0HELP2]
  authentication-admin: [%s]
actions:
  reset-password:       {request: [helpdesk], approve: [authentication-admin]}
  delete-app-passwords: {request: [helpdesk], approve: [authentication-admin]}
approval:
  approvals: %d
  ttl: 1h
`, strings.Join(members, ", "), approvals)
	pol, err := actions.ParsePolicy("test-policy.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("parse test policy: %v", err)
	}
	return pol
}

// reqOpts varies the request newRequest makes.
type reqOpts struct {
	approvals int    // approvals needed; 0 means 1
	targets   int    // 0 means 2
	manual    bool   // delete-app-passwords as a tracked manual step
	key       string // submission key
	requester actions.Person
	now       time.Time
}

// newRequest makes a new pending request and its created event, as the
// service would.
func newRequest(t testing.TB, o reqOpts) (actions.Request, []actions.Event, *actions.Policy) {
	t.Helper()
	if o.approvals == 0 {
		o.approvals = 1
	}
	if o.targets == 0 {
		o.targets = 2
	}
	if o.requester == (actions.Person{}) {
		o.requester = requester
	}
	if o.now.IsZero() {
		o.now = t0
	}
	pol := testPolicy(t, o.approvals)
	d := actions.Draft{Requester: o.requester, Action: actions.ResetPassword, Reason: "lost phone", Ticket: "INC-42", SubmissionKey: o.key}
	support := actions.Automated
	if o.manual {
		d.Action, support = actions.DeleteAppPasswords, actions.Manual
	}
	var targets []actions.Target
	for i := range o.targets {
		p := actions.Person{SlackID: fmt.Sprintf("UTGT%03d", i), Email: fmt.Sprintf("target%d@example.com", i)}
		d.Targets = append(d.Targets, p)
		targets = append(targets, actions.Target{SlackID: p.SlackID, Email: p.Email, DirectoryID: fmt.Sprintf("dir-%d", i)})
	}
	r, events, err := actions.NewRequest(d, targets, support, pol, actions.NewRequestID(), o.now)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	return r, events, pol
}

// create stores a new request made with o and returns it as stored.
func create(t testing.TB, s *storage.Store, o reqOpts) (actions.Request, *actions.Policy) {
	t.Helper()
	r, events, pol := newRequest(t, o)
	if err := s.CreateRequest(context.Background(), r, events); err != nil {
		t.Fatalf("create request: %v", err)
	}
	got, err := s.Request(context.Background(), r.ID)
	if err != nil {
		t.Fatalf("read back request: %v", err)
	}
	return got, pol
}

// update applies a transition that must succeed.
func update(t testing.TB, s *storage.Store, id string, fn func(actions.Request) (actions.Request, []actions.Event, error)) actions.Request {
	t.Helper()
	r, err := s.Update(context.Background(), id, fn)
	if err != nil {
		t.Fatalf("update %s: %v", id, err)
	}
	return r
}

// updateStored applies a transition that must succeed, named what, and
// checks that what the store then reads is what Update returned.
func updateStored(t testing.TB, s *storage.Store, id, what string, fn func(actions.Request) (actions.Request, []actions.Event, error)) actions.Request {
	t.Helper()
	got := update(t, s, id, fn)
	read, err := s.Request(context.Background(), id)
	if err != nil {
		t.Fatalf("%s: read back: %v", what, err)
	}
	if diff := cmp.Diff(got, read); diff != "" {
		t.Fatalf("%s: Update returned (-) but stored (+):\n%s", what, diff)
	}
	return got
}

// stored is r as the database keeps it: times in UTC, cut to microseconds.
func stored(r actions.Request) actions.Request {
	c := r.Clone()
	tr := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.UTC().Truncate(time.Microsecond)
	}
	c.CreatedAt, c.ExpiresAt, c.UpdatedAt, c.LeaseUntil = tr(c.CreatedAt), tr(c.ExpiresAt), tr(c.UpdatedAt), tr(c.LeaseUntil)
	for i := range c.Targets {
		if c.Targets[i].Result != nil {
			c.Targets[i].Result.At = tr(c.Targets[i].Result.At)
		}
	}
	for i := range c.Approvals {
		c.Approvals[i].At = tr(c.Approvals[i].At)
	}
	if len(c.Approvals) == 0 {
		c.Approvals = nil
	}
	if len(c.Targets) == 0 {
		c.Targets = nil
	}
	return c
}

// allEvents reads the whole audit log and checks its hash chain.
func allEvents(t testing.TB, s *storage.Store) []actions.Event {
	t.Helper()
	var (
		events []actions.Event
		v      actions.ChainVerifier
	)
	err := s.Events(context.Background(), 0, time.Time{}, func(e actions.Event) error {
		if err := v.Next(e); err != nil {
			return err
		}
		events = append(events, e)
		return nil
	})
	if err != nil {
		t.Fatalf("read and verify the audit chain: %v", err)
	}
	seq, hash, err := s.AuditHead(context.Background())
	if err != nil {
		t.Fatalf("audit head: %v", err)
	}
	if seq != v.Count() || hash != v.Head() {
		t.Fatalf("audit head is (%d, %s); the chain ends at (%d, %s)", seq, hash, v.Count(), v.Head())
	}
	return events
}

// kinds counts events by kind, for one request ("" for all).
func kinds(events []actions.Event, requestID string) map[actions.EventKind]int {
	out := map[actions.EventKind]int{}
	for _, e := range events {
		if requestID == "" || e.RequestID == requestID {
			out[e.Kind]++
		}
	}
	return out
}

// wantErr checks that err wraps want (nil: no error).
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: error %v, want one wrapping %v", what, err, want)
	}
}
