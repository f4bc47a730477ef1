package actions

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParsePolicyNoticeKeys(t *testing.T) {
	base := "roles:\n  a: [U0A]\n  p: [U0P]\nactions:\n  reset-password: {request: [a], approve: [a]}\nprivileged: {roles: [p]}\n"
	pol, err := ParsePolicy("p.yaml", []byte(base+`limits:
  per_target: {window: 24h, max: 2, actions: [reset-password, issue-temporary-access-pass]}
notify: {target: true, manager: false}
containment: [revoke-mfa-sessions, block-sign-in]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := PerTargetLimit{Window: 24 * time.Hour, Max: 2, Actions: []Action{ResetPassword, IssueTemporaryAccessPass}}
	if diff := cmp.Diff(want, pol.PerTarget); diff != "" {
		t.Errorf("per_target (-want +got):\n%s", diff)
	}
	if !pol.NotifyTarget || pol.NotifyManager {
		t.Errorf("notify = %v %v", pol.NotifyTarget, pol.NotifyManager)
	}
	if diff := cmp.Diff([]Action{RevokeMFASessions, BlockSignIn}, pol.Containment); diff != "" {
		t.Errorf("containment (-want +got):\n%s", diff)
	}
	if !pol.PerTarget.Applies(ResetPassword) || pol.PerTarget.Applies(RevokeMFASessions) || (PerTargetLimit{}).Applies(ResetPassword) {
		t.Error("Applies is wrong")
	}
	if !pol.HoldsPrivileged(Person{SlackID: "U0P"}) || pol.HoldsPrivileged(Person{SlackID: "U0A"}) {
		t.Error("HoldsPrivileged is wrong")
	}

	def, err := ParsePolicy("p.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if def.NotifyTarget || def.NotifyManager || len(def.Containment) != 0 || def.PerTarget.Applies(ResetPassword) {
		t.Errorf("defaults: notify off, no containment, no limit; got %+v", def)
	}

	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"containment not protective", "containment: [revoke-mfa-sessions, reset-password]\n",
			[]string{`p.yaml:7: containment: reset-password is not protective: containment runs without approval, so it may list only revoke-mfa-sessions, block-sign-in`}},
		{"containment unblocks", "containment: [unblock-sign-in]\n", []string{"unblock-sign-in is not protective"}},
		{"containment unknown", "containment: [wipe]\n", []string{`p.yaml:7: containment: unknown action "wipe"`}},
		{"containment twice", "containment: [block-sign-in, block-sign-in]\n", []string{"block-sign-in is listed twice"}},
		{"containment not a list", "containment: block-sign-in\n", []string{"containment must be a list"}},
		{"notify not bool", "notify: {target: yes please}\n", []string{`p.yaml:7: notify.target must be true or false`}},
		{"notify unknown key", "notify: {requester: true}\n", []string{`unknown key "requester" in notify`}},
		{"per_target window", "limits:\n  per_target: {window: soon, max: 1, actions: [reset-password]}\n", []string{"p.yaml:8: limits.per_target.window must be a duration"}},
		{"per_target max", "limits:\n  per_target: {window: 1h, max: 0, actions: [reset-password]}\n", []string{"limits.per_target.max must be a whole number"}},
		{"per_target missing", "limits:\n  per_target: {window: 1h}\n", []string{"limits.per_target: max is required", "limits.per_target: actions is required"}},
		{"per_target unknown action", "limits:\n  per_target: {window: 1h, max: 1, actions: [nuke]}\n", []string{`unknown action "nuke"`}},
		{"per_target unknown key", "limits:\n  per_target: {window: 1h, max: 1, actions: [], per: user}\n", []string{`unknown key "per" in limits.per_target`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantPolicyError(t, base+tt.yaml, tt.want) })
	}
}

func TestNoticeTransitions(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	until := now.Add(time.Minute)
	base := func(n Notice) Request {
		r := pending(withState(StateSucceeded))
		n.Target = 0
		r.Notices = []Notice{n}
		return r
	}
	due := Notice{To: NoticeTarget, State: NoticeDue}
	tests := []struct {
		name      string
		n         Notice
		op        func(Request) (Request, []Event, error)
		wantState NoticeState
		wantEvent string // the notified event's detail, "" for none
		wantErr   error
	}{
		{"take due", due, func(r Request) (Request, []Event, error) { return r.TakeNotice(0, "me", now, until) }, NoticeClaimed, "", nil},
		{"take due, not yet", Notice{State: NoticeDue, NotBefore: now.Add(time.Second)},
			func(r Request) (Request, []Event, error) { return r.TakeNotice(0, "me", now, until) }, NoticeDue, "", ErrConflict},
		{"take a live claim", Notice{State: NoticeClaimed, Owner: "other", Until: now.Add(time.Second)},
			func(r Request) (Request, []Event, error) { return r.TakeNotice(0, "me", now, until) }, NoticeClaimed, "", ErrConflict},
		{"take a lapsed claim", Notice{State: NoticeClaimed, Owner: "other", Until: now},
			func(r Request) (Request, []Event, error) { return r.TakeNotice(0, "me", now, until) }, NoticeClaimed, "", nil},
		{"take a lapsed post", Notice{To: NoticeTarget, State: NoticePosting, Owner: "other", Until: now, Recipient: "U0BOB"},
			func(r Request) (Request, []Event, error) { return r.TakeNotice(0, "me", now, until) }, NoticeUncertain,
			"notice to the user <@U0BOB> uncertain: mfadesk stopped while posting it", nil},
		{"take a sent one", Notice{State: NoticeSent},
			func(r Request) (Request, []Event, error) { return r.TakeNotice(0, "me", now, until) }, NoticeSent, "", ErrConflict},
		{"post someone else's", Notice{State: NoticeClaimed, Owner: "other", Until: until},
			func(r Request) (Request, []Event, error) {
				n, err := r.PostNotice(0, "me", "U1", now, until)
				return n, nil, err
			}, NoticeClaimed, "", ErrLeaseLost},
		{"post", Notice{State: NoticeClaimed, Owner: "me", Until: until},
			func(r Request) (Request, []Event, error) {
				n, err := r.PostNotice(0, "me", "U1", now, until)
				return n, nil, err
			}, NoticePosting, "", nil},
		{"end sent", Notice{To: NoticeManager, State: NoticePosting, Owner: "me", Recipient: "U0CAROL"},
			func(r Request) (Request, []Event, error) { return r.EndNotice(0, "me", NoticeSent, "", "D1/2", now) }, NoticeSent,
			"notice sent to their manager <@U0CAROL>", nil},
		{"end undeliverable", Notice{To: NoticeTarget, State: NoticeClaimed, Owner: "me"},
			func(r Request) (Request, []Event, error) {
				return r.EndNotice(0, "me", NoticeUndeliverable, "no Slack account for x@example.com", "", now)
			}, NoticeUndeliverable, "notice to the user not delivered: no Slack account for x@example.com", nil},
		{"end twice", Notice{State: NoticeSent},
			func(r Request) (Request, []Event, error) { return r.EndNotice(0, "", NoticeSent, "", "", now) }, NoticeSent, "", ErrDuplicate},
		{"end security", Notice{To: NoticeSecurity, State: NoticePosting, Owner: "me"},
			func(r Request) (Request, []Event, error) { return r.EndNotice(0, "me", NoticeSent, "", "C1/2", now) }, NoticeSent,
			"notice sent to the security channel", nil},
		{"retry", Notice{State: NoticePosting, Owner: "me", Attempts: 1},
			func(r Request) (Request, []Event, error) {
				return r.RetryNotice(0, "me", "ratelimited", time.Second, now)
			}, NoticeDue, "", nil},
		{"retry the last time", Notice{To: NoticeTarget, State: NoticeClaimed, Owner: "me", Attempts: NoticeAttempts - 1},
			func(r Request) (Request, []Event, error) {
				return r.RetryNotice(0, "me", "ratelimited", time.Second, now)
			}, NoticeFailed,
			"notice to the user not delivered: ratelimited (gave up after 5 tries)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base(tt.n)
			out, evs, err := tt.op(in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				if out.Notices[0] != in.Notices[0] {
					t.Errorf("changed on error: %+v", out.Notices[0])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := out.Notices[0].State; got != tt.wantState {
				t.Errorf("state %s, want %s", got, tt.wantState)
			}
			if in.Notices[0].State != tt.n.State {
				t.Error("the input was changed")
			}
			switch {
			case tt.wantEvent == "" && len(evs) > 0:
				t.Errorf("events %+v, want none", evs)
			case tt.wantEvent != "" && (len(evs) != 1 || evs[0].Kind != EventNotified || !strings.HasPrefix(evs[0].Detail, tt.wantEvent) || evs[0].Target == nil):
				t.Errorf("events %+v, want one notified %q", evs, tt.wantEvent)
			}
		})
	}
}
