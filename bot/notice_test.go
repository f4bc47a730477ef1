package bot

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/dryrun"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// noticeBot is a bot whose Slack calls time out after 300ms and are not
// retried, so that a slow post is quick to test.
func noticeBot(t *testing.T, fake *fakeslack.Server) *Bot {
	t.Helper()
	for _, u := range testUsers {
		fake.AddUser(u)
	}
	fake.AddChannel(approvalChannel)
	fake.AddChannel("C0SECURE")
	pol, err := actions.ParsePolicy("policy.yaml", []byte(testPolicy+"containment: [revoke-mfa-sessions, block-sign-in]\n"))
	if err != nil {
		t.Fatal(err)
	}
	svc := actions.NewService(storagetest.New(t, storage.DialectSQLite).Store, dryrun.New(dryrun.Options{}), pol, actions.ServiceOptions{})
	b, err := New(Config{Service: svc, Slack: slack.New(fake.Token, slack.OptionAPIURL(fake.APIURL())), APIURL: fake.APIURL(),
		SigningSecret: testSecret, ApprovalChannel: approvalChannel, SecurityChannel: "C0SECURE",
		CallTimeout: 300 * time.Millisecond, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Shutdown(context.Background()) })
	return b
}

// TestMessengerFindsPeople: users.lookupByEmail's answers as the courier
// needs them: an account, none (undeliverable, with the reason), or a
// failure to ask (neither).
func TestMessengerFindsPeople(t *testing.T) {
	fake := fakeslack.New()
	defer fake.Close()
	b := noticeBot(t, fake)
	fake.AddUser(fakeslack.User{ID: "U0TESS", Name: "tess", Email: "tess@example.com"})
	fake.AddUser(fakeslack.User{ID: "U0OLD", Name: "old", Email: "old@example.com", Deleted: true})
	tests := []struct {
		email, fail, wantID, wantErr string
		undeliverable                bool
	}{
		{email: "tess@example.com", wantID: "U0TESS"},
		{email: "stranger@nowhere.test", wantErr: "no Slack account for stranger@nowhere.test", undeliverable: true},
		{email: "old@example.com", wantErr: "the Slack account of old@example.com is deactivated", undeliverable: true},
		{email: "tess@example.com", fail: "fatal_error", wantErr: "fatal_error"},
	}
	for _, tt := range tests {
		t.Run(tt.email+" "+tt.fail, func(t *testing.T) {
			if tt.fail != "" {
				fake.Fail("users.lookupByEmail", tt.fail)
			}
			p, err := b.FindPerson(t.Context(), tt.email)
			if tt.wantErr == "" {
				if err != nil || p.SlackID != tt.wantID {
					t.Fatalf("FindPerson = %+v, %v", p, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, actions.ErrUndeliverable) != tt.undeliverable {
				t.Errorf("FindPerson error %v; want %q, undeliverable %v", err, tt.wantErr, tt.undeliverable)
			}
		})
	}
}

// TestMessengerSendsNotices: each kind of notice lands where it should, and
// a failure says whether it certainly delivered nothing (ErrNotSent,
// ErrUndeliverable) or may have (neither).
func TestMessengerSendsNotices(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	r := actions.Request{
		ID: "RNOTICE0001", Requester: actions.Person{SlackID: "U0HELP1"}, Action: actions.RequireReregisterMFA,
		Targets: []actions.Target{{SlackID: "U0BOB", Email: "tess@example.com", DirectoryID: "dryrun:tess@example.com",
			Result: &actions.TargetResult{Outcome: actions.OutcomeOK, At: at}}},
		Reason: "new phone", State: actions.StateSucceeded, CreatedAt: at, UpdatedAt: at,
		Approvals: []actions.Approval{{By: actions.Person{SlackID: "U0AUTH1"}, At: at}},
	}
	notice := func(to actions.NoticeTo, recipient string) actions.Request {
		c := r.Clone()
		c.Notices = []actions.Notice{{To: to, Target: 0, State: actions.NoticePosting, Recipient: recipient}}
		return c
	}
	tests := []struct {
		name       string
		r          actions.Request
		fault      func(f *fakeslack.Server)
		wantIn     string // channel the message is in
		wantText   string
		wantErr    error // nil, ErrNotSent or ErrUndeliverable; "maybe" below
		maybe      bool  // an error that is neither
		wantButton bool
	}{
		{name: "target", r: notice(actions.NoticeTarget, "U0BOB"), wantIn: "DU0BOB",
			wantText: "Your MFA methods were removed: you will be asked to set up MFA again at your next sign-in.", wantButton: true},
		{name: "manager", r: notice(actions.NoticeManager, "U0AUTH1"), wantIn: "DU0AUTH1", wantText: "mfadesk told <@U0BOB>"},
		{name: "security", r: notice(actions.NoticeSecurity, ""), wantIn: "C0SECURE", wantText: "No containment ran"},
		{name: "reporter", r: notice(actions.NoticeReporter, "U0BOB"), wantIn: "DU0BOB", wantText: "Call the security team"},
		{name: "no such user", r: notice(actions.NoticeTarget, "U0NOSUCH"), wantErr: actions.ErrUndeliverable},
		{name: "throttled", r: notice(actions.NoticeTarget, "U0BOB"), wantErr: actions.ErrNotSent,
			fault: func(f *fakeslack.Server) { f.RateLimit("chat.postMessage", 1, time.Second) }},
		{name: "refused", r: notice(actions.NoticeTarget, "U0BOB"), wantErr: actions.ErrNotSent,
			fault: func(f *fakeslack.Server) { f.Fail("chat.postMessage", "fatal_error") }},
		{name: "open refused", r: notice(actions.NoticeManager, "U0AUTH1"), wantErr: actions.ErrNotSent,
			fault: func(f *fakeslack.Server) { f.Fail("conversations.open", "fatal_error") }},
		{name: "security channel gone", r: notice(actions.NoticeSecurity, ""), wantErr: actions.ErrUndeliverable,
			fault: func(f *fakeslack.Server) { f.Fail("chat.postMessage", "channel_not_found") }},
		{name: "post timed out", r: notice(actions.NoticeTarget, "U0BOB"), maybe: true,
			fault: func(f *fakeslack.Server) { f.Delay("chat.postMessage", 2*time.Second) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakeslack.New()
			defer fake.Close()
			b := noticeBot(t, fake)
			if tt.fault != nil {
				tt.fault(fake)
			}
			ref, err := b.SendNotice(t.Context(), tt.r, 0)
			switch {
			case tt.maybe:
				if err == nil || errors.Is(err, actions.ErrNotSent) || errors.Is(err, actions.ErrUndeliverable) {
					t.Fatalf("err = %v, want one that may have posted", err)
				}
				return
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if !strings.HasPrefix(ref, tt.wantIn+"/") {
				t.Errorf("ref %q, want in %s", ref, tt.wantIn)
			}
			ms := fake.Messages(tt.wantIn)
			if len(ms) != 1 {
				t.Fatalf("%d messages in %s", len(ms), tt.wantIn)
			}
			blocks := string(ms[0].Blocks)
			if !strings.Contains(strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(blocks), tt.wantText) {
				t.Errorf("message lacks %q:\n%s", tt.wantText, blocks)
			}
			if got := strings.Contains(blocks, `"action_id":"not_me"`); got != tt.wantButton {
				t.Errorf("not_me button: %v, want %v", got, tt.wantButton)
			}
		})
	}
}
