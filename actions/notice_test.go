package actions_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

const noticePolicyYAML = `
roles:
  helpdesk: [U0HELP1, U0HELP2]
  authentication-admin: [U0AUTH1, U0AUTH2]
  privileged-authentication-admin: [U0PAUTH]
actions:
  reset-password:         {request: [helpdesk, privileged-authentication-admin], approve: [authentication-admin]}
  revoke-mfa-sessions:    {request: [helpdesk], approve: [authentication-admin]}
approval: {approvals: 1, ttl: 1h}
limits:
  per_target: {window: 24h, max: 1, actions: [reset-password]}
notify: {target: true, manager: true}
containment: [revoke-mfa-sessions, block-sign-in]
privileged: {roles: [privileged-authentication-admin]}
`

var (
	bob      = actions.Person{SlackID: "U0BOB", Email: "bob@example.com"}
	mallory  = actions.Person{SlackID: "U0MAL", Email: "mallory@example.com"}
	privReq  = actions.Person{SlackID: "U0PAUTH", Email: "pauth@example.com"}
	helpdesk = actions.Person{SlackID: "U0HELP2", Email: "help2@example.com"}
)

// managerDir is fakeDir that also names managers: carol manages everyone
// but orphan@example.com.
type managerDir struct{ *fakeDir }

func (d managerDir) Manager(_ context.Context, id string) (actions.DirectoryUser, error) {
	if id == "id-orphan@example.com" {
		return actions.DirectoryUser{}, fmt.Errorf("no manager: %w", actions.ErrNoManager)
	}
	return actions.DirectoryUser{ID: "id-carol", Email: "carol@example.com"}, nil
}

// fakeMessenger is a chat whose accounts and failures a test scripts.
type fakeMessenger struct {
	mu          sync.Mutex
	accounts    map[string]string // email -> Slack ID; missing: no account
	deactivated map[string]bool
	fail        []error // errors for successive SendNotice calls
	sent        []string
	keys        []string // request, recipient kind and target index of each sent
}

func newMessenger() *fakeMessenger {
	return &fakeMessenger{accounts: map[string]string{
		"bob@example.com": "U0BOB", "carol@example.com": "U0CAROL", "orphan@example.com": "U0ORPH",
	}, deactivated: map[string]bool{}}
}

func (m *fakeMessenger) FindPerson(_ context.Context, email string) (actions.Person, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.accounts[email]
	switch {
	case !ok:
		return actions.Person{}, fmt.Errorf("no Slack account for %s: %w", email, actions.ErrUndeliverable)
	case m.deactivated[email]:
		return actions.Person{}, fmt.Errorf("the Slack account of %s is deactivated: %w", email, actions.ErrUndeliverable)
	}
	return actions.Person{SlackID: id, Email: email}, nil
}

func (m *fakeMessenger) SendNotice(_ context.Context, r actions.Request, k int) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.fail) > 0 {
		err := m.fail[0]
		m.fail = m.fail[1:]
		if err != nil {
			return "", err
		}
	}
	n := r.Notices[k]
	to := n.Recipient
	if n.To == actions.NoticeSecurity {
		to = "CSEC"
	}
	m.sent = append(m.sent, fmt.Sprintf("%s %s %s", r.ID, n.To, to))
	m.keys = append(m.keys, fmt.Sprintf("%s %s %d", r.ID, n.To, n.Target))
	return "D" + to + "/1." + fmt.Sprint(len(m.sent)), nil
}

func (m *fakeMessenger) sentList() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.sent...)
}

type noticeRig struct {
	*rig
	msg *fakeMessenger
}

func newNoticeRig(t *testing.T, st *storage.Store) *noticeRig {
	t.Helper()
	r := baseRig(t, st, noticePolicyYAML)
	r.svc = actions.NewService(st, managerDir{r.dir}, r.pol, actions.ServiceOptions{Notifier: r.notify, Now: r.now.Now})
	r.exec = actions.NewExecutor(st, managerDir{r.dir}, actions.ExecutorOptions{
		Owner: "exec-1", Notifier: r.notify, Now: r.now.Now, Lease: time.Minute,
	})
	return &noticeRig{rig: r, msg: newMessenger()}
}

func (r *noticeRig) courier(owner string) *actions.Courier {
	return actions.NewCourier(r.store, managerDir{r.dir}, r.msg, actions.CourierOptions{
		Owner: owner, Notifier: r.notify, Now: r.now.Now, Lease: time.Minute, Backoff: time.Second,
	})
}

// drain runs the courier until no notice is waiting.
func drain(t *testing.T, c *actions.Courier) {
	t.Helper()
	for i := 0; i < 100; i++ {
		found, err := c.DeliverOnce(t.Context())
		if err != nil {
			t.Fatalf("DeliverOnce: %v", err)
		}
		if !found {
			return
		}
	}
	t.Fatal("the courier never ran out of notices")
}

// ran submits action on targets by requester, approves and executes it.
func (r *noticeRig) ran(t *testing.T, by actions.Person, a actions.Action, targets ...actions.Person) actions.Request {
	t.Helper()
	req, err := r.svc.Submit(t.Context(), actions.Draft{Requester: by, Action: a, Targets: targets, Reason: "locked out", Ticket: "INC-7"})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	if _, err := r.svc.Approve(t.Context(), req.ID, approver); err != nil {
		t.Fatalf("approve: %v", err)
	}
	for {
		ran, err := r.exec.ExecuteOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			break
		}
	}
	got, err := r.svc.Get(t.Context(), req.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func notifiedDetails(t *testing.T, st *storage.Store, id string) []string {
	t.Helper()
	var out []string
	for _, e := range events(t, st, id) {
		if e.Kind == actions.EventNotified {
			if e.Target == nil || e.Actor != actions.BotActor {
				t.Errorf("notified event %d: target %v, actor %q", e.Seq, e.Target, e.Actor)
			}
			out = append(out, e.Detail)
		}
	}
	return out
}

func TestNoticeReachesTargetAndManagerOnce(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newNoticeRig(t, st)
		r.dir.secret = true
		req := r.ran(t, requester, actions.ResetPassword, bob)
		if req.State != actions.StateSucceeded || len(req.Notices) != 2 {
			t.Fatalf("after execution: state %s, notices %+v", req.State, req.Notices)
		}
		for _, n := range req.Notices {
			if n.State != actions.NoticeDue {
				t.Errorf("notice %s is %s before the courier ran", n.To, n.State)
			}
		}
		c := r.courier("courier-1")
		drain(t, c)
		drain(t, r.courier("courier-2")) // another replica finds nothing left
		want := []string{req.ID + " target U0BOB", req.ID + " manager U0CAROL"}
		if got := r.msg.sentList(); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("sent %q, want %q", got, want)
		}
		got, _ := r.svc.Get(t.Context(), req.ID)
		for _, n := range got.Notices {
			if n.State != actions.NoticeSent || n.Ref == "" {
				t.Errorf("notice %s: %+v", n.To, n)
			}
		}
		details := notifiedDetails(t, st, req.ID)
		wantDetails := []string{"notice sent to the user <@U0BOB>", "notice sent to their manager <@U0CAROL>"}
		if strings.Join(details, "|") != strings.Join(wantDetails, "|") {
			t.Errorf("notified events %q, want %q", details, wantDetails)
		}
		checkNoSecretInAudit(t, st)
	})
}

func checkNoSecretInAudit(t *testing.T, st *storage.Store) {
	t.Helper()
	err := st.Events(t.Context(), 0, time.Time{}, func(e actions.Event) error {
		if strings.Contains(fmt.Sprintf("%+v %v", e, e.Target), "S3cret") {
			t.Errorf("event %d holds a secret: %+v", e.Seq, e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNoticeUndeliverableIsAuditedWithTheReason(t *testing.T) {
	t.Parallel()
	orphan := actions.Person{SlackID: "U0ORPH", Email: "orphan@example.com"}
	gone := actions.Person{SlackID: "U0GONE", Email: "gone@example.com"}
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newNoticeRig(t, st)
		r.msg.deactivated["bob@example.com"] = true
		req := r.ran(t, requester, actions.RevokeMFASessions, bob, orphan, gone)
		drain(t, r.courier("c"))
		got, _ := r.svc.Get(t.Context(), req.ID)
		if n := len(got.Undelivered()); n != 3 {
			t.Errorf("undelivered = %d, want 3 (bob deactivated, orphan's manager, gone's account): %+v", n, got.Notices)
		}
		details := strings.Join(notifiedDetails(t, st, req.ID), "\n")
		for _, want := range []string{
			"notice to the user not delivered: the Slack account of bob@example.com is deactivated",
			"notice to their manager not delivered: orphan@example.com has no manager in the directory",
			"notice to the user not delivered: no Slack account for gone@example.com",
			"notice sent to their manager <@U0CAROL>",
		} {
			if !strings.Contains(details, want) {
				t.Errorf("notified events lack %q:\n%s", want, details)
			}
		}
	})
}

func TestNoticeRetriesThenGivesUp(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newNoticeRig(t, st)
		r.pol.NotifyManager = false
		notSent := fmt.Errorf("slack chat.postMessage: ratelimited: %w", actions.ErrNotSent)
		r.msg.fail = []error{notSent, notSent, notSent, notSent, notSent}
		req := r.ran(t, requester, actions.RevokeMFASessions, bob)
		c := r.courier("c")
		for try := 1; try <= actions.NoticeAttempts; try++ {
			if found, err := c.DeliverOnce(t.Context()); !found || err != nil {
				t.Fatalf("try %d: %v %v", try, found, err)
			}
			if found, _ := c.DeliverOnce(t.Context()); found {
				t.Fatalf("try %d: retried before its backoff", try)
			}
			r.now.Advance(time.Hour)
		}
		got, _ := r.svc.Get(t.Context(), req.ID)
		n := got.Notices[0]
		if n.State != actions.NoticeFailed || n.Attempts != actions.NoticeAttempts-1 || !strings.Contains(n.Detail, "gave up after 5 tries") {
			t.Errorf("notice = %+v", n)
		}
		if len(r.msg.sentList()) != 0 {
			t.Errorf("sent %v", r.msg.sentList())
		}
	})
}

// TestNoticeAfterCrash: a process killed between the action and the notice
// still sends it exactly once after restart; one killed while posting does
// not post again.
func TestNoticeAfterCrash(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		r := newNoticeRig(t, db.Store)
		req := r.ran(t, requester, actions.RevokeMFASessions, bob)

		// The first process dies right after claiming the target's notice
		// (before finding or posting): the claim is all it left.
		now := r.now.Now()
		_, k, err := db.Store.ClaimNotice(t.Context(), now, func(cur actions.Request, k int) (actions.Request, []actions.Event, error) {
			return cur.TakeNotice(k, "dead-process", now, now.Add(time.Minute))
		})
		if err != nil || k != 0 {
			t.Fatalf("claim: %d %v", k, err)
		}
		// The second dies while posting the manager's notice.
		now = r.now.Now()
		if _, _, err := db.Store.ClaimNotice(t.Context(), now, func(cur actions.Request, k int) (actions.Request, []actions.Event, error) {
			next, evs, err := cur.TakeNotice(k, "dead-2", now, now.Add(time.Minute))
			if err != nil {
				return next, evs, err
			}
			next, err = next.PostNotice(k, "dead-2", "U0CAROL", now, now.Add(time.Minute))
			return next, evs, err
		}); err != nil {
			t.Fatal(err)
		}

		// Restart: a new store (process) and courier, before and after the
		// claims lapse.
		r2 := *r
		r2.store = db.Open(t)
		c := actions.NewCourier(r2.store, managerDir{r.dir}, r.msg, actions.CourierOptions{Owner: "restarted", Now: r.now.Now, Lease: time.Minute})
		if found, _ := c.DeliverOnce(t.Context()); found {
			t.Fatal("a live claim was taken over")
		}
		r.now.Advance(2 * time.Minute)
		drain(t, c)
		drain(t, c)
		if got := r.msg.sentList(); len(got) != 1 || got[0] != req.ID+" target U0BOB" {
			t.Errorf("sent %q, want the target's notice exactly once", got)
		}
		got, _ := r2.store.Request(t.Context(), req.ID)
		if got.Notices[0].State != actions.NoticeSent || got.Notices[1].State != actions.NoticeUncertain {
			t.Errorf("notices = %+v", got.Notices)
		}
		details := notifiedDetails(t, r2.store, req.ID)
		if len(details) != 2 || !strings.Contains(details[1], "uncertain: mfadesk stopped while posting") {
			t.Errorf("notified events = %q", details)
		}
	})
}

// TestNoticeConcurrentCouriers: many couriers on several stores deliver
// each notice once.
func TestNoticeConcurrentCouriers(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		r := newNoticeRig(t, db.Store)
		targets := make([]actions.Person, 6)
		for i := range targets {
			targets[i] = actions.Person{SlackID: fmt.Sprintf("U0X%d", i), Email: fmt.Sprintf("x%d@example.com", i)}
			r.msg.accounts[targets[i].Email] = targets[i].SlackID
		}
		req := r.ran(t, requester, actions.RevokeMFASessions, targets...)
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			st := db.Open(t)
			c := actions.NewCourier(st, managerDir{r.dir}, r.msg, actions.CourierOptions{Owner: fmt.Sprint("c", i), Now: r.now.Now})
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					found, err := c.DeliverOnce(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					if !found {
						return
					}
				}
			}()
		}
		wg.Wait()
		seen := map[string]int{}
		r.msg.mu.Lock()
		for _, s := range r.msg.keys {
			seen[s]++
		}
		r.msg.mu.Unlock()
		if len(seen) != 12 {
			t.Errorf("%d distinct notices sent, want 12: %v", len(seen), seen)
		}
		for s, n := range seen {
			if n != 1 {
				t.Errorf("%s sent %d times", s, n)
			}
		}
		if n := len(notifiedDetails(t, db.Store, req.ID)); n != 12 {
			t.Errorf("%d notified events, want 12", n)
		}
	})
}

func TestReportNotMeContainsOnce(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newNoticeRig(t, st)
		req := r.ran(t, requester, actions.ResetPassword, bob)
		drain(t, r.courier("c"))

		// Someone else's click is refused and audited.
		if _, err := r.svc.ReportNotMe(t.Context(), req.ID, mallory); !errors.Is(err, actions.ErrForbidden) {
			t.Fatalf("mallory's report: %v", err)
		}
		rep, err := r.svc.ReportNotMe(t.Context(), strings.ToLower(req.ID), bob)
		if err != nil {
			t.Fatalf("bob's report: %v", err)
		}
		if len(rep.Containment) != 2 || rep.Containment[0].Action != actions.RevokeMFASessions || rep.Containment[1].Action != actions.BlockSignIn {
			t.Fatalf("containment = %+v", rep.Containment)
		}
		first, second := rep.Containment[0], rep.Containment[1]
		if second.Containment.After != first.ID || first.State != actions.StateApproved || !first.Requester.Is(bob) {
			t.Errorf("containment chain: %+v / %+v", first, second)
		}
		// A double click contains once.
		if _, err := r.svc.ReportNotMe(t.Context(), req.ID, bob); !errors.Is(err, actions.ErrDuplicate) {
			t.Errorf("second report: %v", err)
		}
		if all, _ := r.svc.ContainmentOf(t.Context(), req.ID); len(all) != 2 {
			t.Errorf("containment requests = %d, want 2", len(all))
		}
		// The alert waits for the containment.
		if found, _ := r.courier("c").DeliverOnce(t.Context()); found {
			t.Error("the alert went out before the containment ran")
		}
		// In order: the executor takes the first step, then the second.
		for _, want := range []string{first.ID, second.ID} {
			claimed, err := st.ClaimNext(t.Context(), r.now.Now(), true, actions.Lease("exec-x", r.now.Now(), r.now.Now().Add(time.Minute)))
			if err != nil || claimed.ID != want {
				t.Fatalf("claimed %s (%v), want %s", claimed.ID, err, want)
			}
			if _, err := st.Update(t.Context(), want, func(c actions.Request) (actions.Request, []actions.Event, error) {
				n, evs, err := c.RecordResult(0, actions.TargetResult{Outcome: actions.OutcomeOK, Detail: "done"}, r.now.Now())
				if err != nil {
					return n, nil, err
				}
				n, more, err := n.Complete(r.now.Now())
				return n, append(evs, more...), err
			}); err != nil {
				t.Fatal(err)
			}
		}
		drain(t, r.courier("c"))
		sent := r.msg.sentList()
		tail := strings.Join(sent[len(sent)-2:], "|")
		if want := req.ID + " security CSEC|" + req.ID + " reporter U0BOB"; tail != want {
			t.Errorf("last notices %q, want %q", tail, want)
		}
		for _, c := range []actions.Request{first, second} {
			got, _ := r.svc.Get(t.Context(), c.ID)
			if len(got.Notices) != 0 {
				t.Errorf("containment %s owes notices %+v: the report's own notices tell the user", c.ID, got.Notices)
			}
		}

		evs := events(t, st, req.ID)
		var kinds []string
		for _, e := range evs {
			kinds = append(kinds, string(e.Kind)+":"+e.Actor)
		}
		want := "created:U0HELP1 approved:U0AUTH1 started:mfadesk target_result:mfadesk completed:mfadesk notified:mfadesk notified:mfadesk " +
			"refused:U0MAL reported_not_me:U0BOB notified:mfadesk notified:mfadesk"
		if got := strings.Join(kinds, " "); got != want {
			t.Errorf("events of the reported request:\n got %s\nwant %s", got, want)
		}
		ce := events(t, st, first.ID)
		if ce[0].Kind != actions.EventCreated || ce[0].Actor != "U0BOB" || !strings.Contains(ce[0].Detail, req.ID) ||
			ce[1].Kind != actions.EventApproved || ce[1].Actor != actions.BotActor || ce[1].Detail != "containment" {
			t.Errorf("containment events: %+v", ce[:2])
		}
	})
}

func TestReportNotMeRefusals(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newNoticeRig(t, st)
		failing := actions.Person{SlackID: "U0FAIL", Email: "fail@example.com"}
		r.dir.script["id-fail@example.com"] = []error{&actions.DirectoryError{Op: "revoke", Status: 403}}
		req := r.ran(t, requester, actions.RevokeMFASessions, bob, failing)
		cases := []struct {
			name    string
			by      actions.Person
			advance time.Duration
			want    error
		}{
			{"the requester", requester, 0, actions.ErrForbidden},
			{"the approver", approver, 0, actions.ErrForbidden},
			{"a target the action failed on", failing, 0, actions.ErrConflict},
			{"bob by email only", actions.Person{Email: "BOB@example.com"}, actions.DefaultReportTTL, actions.ErrExpired},
		}
		for _, c := range cases {
			r.now.Advance(c.advance)
			if _, err := r.svc.ReportNotMe(t.Context(), req.ID, c.by); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		if _, err := r.svc.ReportNotMe(t.Context(), "RNOSUCHREQ", bob); !errors.Is(err, actions.ErrNotFound) {
			t.Errorf("unknown request: %v", err)
		}
		// 3 refused, not the conflict; no report.
		wantKinds(t, st, req.ID, map[actions.EventKind]int{actions.EventRefused: 3, actions.EventReportedNotMe: 0})
		if rs, _ := st.ListRequests(t.Context(), actions.RequestFilter{Contains: req.ID}); len(rs) != 0 {
			t.Errorf("containment started: %+v", rs)
		}
	})
}

func TestPerTargetLimit(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newNoticeRig(t, st)
		first := r.ran(t, requester, actions.ResetPassword, bob)
		r.now.Advance(time.Hour)

		submit := func(by actions.Person, a actions.Action, who ...actions.Person) (actions.Request, error) {
			return r.svc.Submit(t.Context(), actions.Draft{Requester: by, Action: a, Targets: who, Reason: "again"})
		}
		// Bob by another Slack identity with the same email is the same user.
		_, err := submit(helpdesk, actions.ResetPassword, actions.Person{SlackID: "U0BOB2", Email: "Bob@Example.com"})
		var v *actions.ValidationError
		if !errors.As(err, &v) {
			t.Fatalf("second reset within the window: %v", err)
		}
		msg := v.Field(actions.FieldTargets)
		frees := first.CreatedAt.Add(24 * time.Hour).UTC().Format("2006-01-02 15:04 MST")
		if !strings.Contains(msg, first.ID) || !strings.Contains(msg, frees) || !v.Problems[0].Policy {
			t.Errorf("refusal %q does not name %s and %s", msg, first.ID, frees)
		}
		// Other actions and other users are not limited.
		if _, err := submit(helpdesk, actions.RevokeMFASessions, bob); err != nil {
			t.Errorf("revoke on bob: %v", err)
		}
		other, err := submit(helpdesk, actions.ResetPassword, mallory)
		if err != nil {
			t.Errorf("reset on mallory: %v", err)
		}
		// A privileged requester goes through.
		if _, err := submit(privReq, actions.ResetPassword, bob); err != nil {
			t.Errorf("privileged requester: %v", err)
		}
		// A denied request does not count; a pending one does.
		if _, err := r.svc.Deny(t.Context(), other.ID, approver, "no"); err != nil {
			t.Fatal(err)
		}
		if _, err := submit(helpdesk, actions.ResetPassword, mallory); err != nil {
			t.Errorf("reset on mallory after the denial: %v", err)
		}
		if _, err := submit(helpdesk, actions.ResetPassword, mallory); err == nil {
			t.Error("a pending request did not count")
		}
		// After the window, bob may be reset again (the privileged request
		// is still pending, and counts: it is an hour younger).
		r.now.Advance(23*time.Hour + time.Second)
		if _, err := submit(helpdesk, actions.ResetPassword, bob); err == nil || !strings.Contains(err.Error(), "U0BOB") {
			t.Errorf("privileged request did not count: %v", err)
		}
		r.now.Advance(time.Hour)
		if _, err := submit(helpdesk, actions.ResetPassword, bob); err != nil {
			t.Errorf("after the window: %v", err)
		}
		var refused int
		for _, e := range events(t, st, "") {
			if e.Kind == actions.EventRefused && strings.Contains(e.Detail, "per user in 24h") {
				refused++
			}
		}
		if refused != 3 {
			t.Errorf("%d refusals audited, want 3", refused)
		}
	})
}

// TestContainmentRunsInOrderUnderRechecks: an executor that re-checks roles
// before each target still runs containment (the reporter holds no role),
// in order, and the report's notices go out once it has ended.
func TestContainmentRunsInOrderUnderRechecks(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newNoticeRig(t, st)
		r.pol.NotifyManager = false
		req := r.ran(t, requester, actions.ResetPassword, bob)
		exec := actions.NewExecutor(st, managerDir{r.dir}, actions.ExecutorOptions{
			Owner: "exec-rechecks", Now: r.now.Now, Lease: time.Minute,
			Policy: func() *actions.Policy { return r.pol },
		})
		rep, err := r.svc.ReportNotMe(t.Context(), req.ID, bob)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rep.Containment {
			if ran, err := exec.ExecuteOnce(t.Context()); !ran || err != nil {
				t.Fatalf("containment %s: ran %v, %v", c.ID, ran, err)
			}
			got, _ := r.svc.Get(t.Context(), c.ID)
			if got.State != actions.StateSucceeded {
				t.Errorf("containment %s (%s) is %s: %+v", c.ID, c.Action, got.State, got.Targets[0].Result)
			}
		}
		if calls := r.dir.callsTo("id-bob@example.com"); calls != 3 {
			t.Errorf("%d directory calls on bob, want the reset and two containment actions", calls)
		}
		drain(t, r.courier("c"))
		got, _ := r.svc.Get(t.Context(), req.ID)
		for _, n := range got.Notices {
			if n.State != actions.NoticeSent {
				t.Errorf("notice %s is %s", n.To, n.State)
			}
		}
	})
}

// flakyStore fails the first fails writes that record how a notice ended,
// as a database that is briefly away does.
type flakyStore struct {
	actions.Store
	mu    sync.Mutex
	fails int
}

var errAway = errors.New("database briefly away")

func (s *flakyStore) Update(ctx context.Context, id string, fn func(actions.Request) (actions.Request, []actions.Event, error)) (actions.Request, error) {
	return s.Store.Update(ctx, id, func(r actions.Request) (actions.Request, []actions.Event, error) {
		n, evs, err := fn(r)
		s.mu.Lock()
		defer s.mu.Unlock()
		if err == nil && len(evs) > 0 && evs[0].Kind == actions.EventNotified && s.fails > 0 {
			s.fails--
			return r, nil, errAway
		}
		return n, evs, err
	})
}

// blockingMessenger holds every post until release is closed.
type blockingMessenger struct {
	*fakeMessenger
	posting chan struct{}
	release chan struct{}
}

func (m *blockingMessenger) SendNotice(ctx context.Context, r actions.Request, k int) (string, error) {
	m.posting <- struct{}{}
	<-m.release
	return m.fakeMessenger.SendNotice(ctx, r, k)
}

// TestNoticeSurvivesSlowPostsAndDatabaseBlips: a courier renews its claim
// while a post is slow, so that another does not take the notice for a
// dead courier's; and a sent notice is recorded as sent although the first
// tries to record it fail.
func TestNoticeSurvivesSlowPostsAndDatabaseBlips(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newNoticeRig(t, st)
		r.pol.NotifyManager = false
		req := r.ran(t, requester, actions.RevokeMFASessions, bob)
		flaky := &flakyStore{Store: st, fails: 3}
		slow := &blockingMessenger{fakeMessenger: r.msg, posting: make(chan struct{}), release: make(chan struct{})}
		noSleep := func(context.Context, time.Duration) error { return nil }
		a := actions.NewCourier(flaky, managerDir{r.dir}, slow, actions.CourierOptions{Owner: "a", Lease: 300 * time.Millisecond, Sleep: noSleep})
		b := actions.NewCourier(st, managerDir{r.dir}, r.msg, actions.CourierOptions{Owner: "b", Lease: 300 * time.Millisecond})
		done := make(chan error, 1)
		go func() { _, err := a.DeliverOnce(context.Background()); done <- err }()
		<-slow.posting
		time.Sleep(time.Second) // three leases: renewed meanwhile
		if found, err := b.DeliverOnce(t.Context()); found || err != nil {
			t.Errorf("another courier took the notice being posted: %v %v", found, err)
		}
		close(slow.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		got, _ := st.Request(t.Context(), req.ID)
		if n := got.Notices[0]; n.State != actions.NoticeSent || len(r.msg.sentList()) != 1 {
			t.Errorf("notice %+v, sent %v", n, r.msg.sentList())
		}
		if d := notifiedDetails(t, st, req.ID); len(d) != 1 {
			t.Errorf("notified events %q", d)
		}
	})
}

// TestReportWithoutContainment: with no containment in the policy, a report
// still alerts the security channel and tells the user, at once.
func TestReportWithoutContainment(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newNoticeRig(t, st)
		r.pol.Containment = nil
		r.pol.NotifyManager = false
		req := r.ran(t, requester, actions.RevokeMFASessions, bob)
		rep, err := r.svc.ReportNotMe(t.Context(), req.ID, bob)
		if err != nil || len(rep.Containment) != 0 {
			t.Fatalf("report: %+v %v", rep.Containment, err)
		}
		if ran, _ := r.exec.ExecuteOnce(t.Context()); ran {
			t.Error("something was executed")
		}
		drain(t, r.courier("c"))
		sent := strings.Join(r.msg.sentList(), "|")
		if !strings.Contains(sent, req.ID+" security CSEC") || !strings.Contains(sent, req.ID+" reporter U0BOB") {
			t.Errorf("sent %s", sent)
		}
		for _, e := range events(t, st, req.ID) {
			if e.Kind == actions.EventReportedNotMe && e.Detail != "no containment: the policy lists none" {
				t.Errorf("reported_not_me detail %q", e.Detail)
			}
		}
	})
}

// TestPerTargetLimitUnderConcurrency: submissions of the same limited
// action on one user, at once, from several processes: one is stored.
func TestPerTargetLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		r := newNoticeRig(t, db.Store)
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			svc := actions.NewService(db.Open(t), managerDir{r.dir}, r.pol, actions.ServiceOptions{Now: r.now.Now})
			wg.Add(1)
			go func() {
				defer wg.Done()
				by := []actions.Person{requester, helpdesk}[i%2]
				_, errs[i] = svc.Submit(context.Background(), actions.Draft{Requester: by, Action: actions.ResetPassword,
					Targets: []actions.Person{bob}, Reason: fmt.Sprint("race ", i)})
			}()
		}
		wg.Wait()
		stored := 0
		for i, err := range errs {
			var v *actions.ValidationError
			switch {
			case err == nil:
				stored++
			case errors.As(err, &v) && strings.Contains(v.Field(actions.FieldTargets), "at most 1 such request(s) per user"):
			default:
				t.Errorf("submission %d: %v", i, err)
			}
		}
		rs, err := db.Store.ListRequests(t.Context(), actions.RequestFilter{Actions: []actions.Action{actions.ResetPassword}})
		if stored != 1 || err != nil || len(rs) != 1 {
			t.Errorf("%d submissions stored, %d requests (%v); want 1", stored, len(rs), err)
		}
	})
}
