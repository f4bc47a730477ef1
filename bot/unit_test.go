package bot

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/mock"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
)

// newTestBot returns a bot talking to fake, over a mock service that offers
// the policy's requestable actions and answers nothing else (set more of
// its functions for a test that needs them). No database is involved.
func newTestBot(t testing.TB, fake *fakeslack.Server) (*Bot, *mock.Service) {
	t.Helper()
	for _, u := range testUsers {
		fake.AddUser(u)
	}
	fake.AddChannel(approvalChannel)
	svc := &mock.Service{
		RequestableFn: func(actions.Person) []actions.Action {
			return []actions.Action{actions.ResetPassword, actions.RevokeMFASessions}
		},
		MaxTargetsFn:      func() int { return 50 },
		SureHoldsNoRoleFn: func(string) bool { return false },
	}
	b, err := New(Config{Service: svc, Slack: slack.New(fake.Token, slack.OptionAPIURL(fake.APIURL())),
		APIURL: fake.APIURL(), SigningSecret: testSecret, ApprovalChannel: approvalChannel})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Shutdown(context.Background()) })
	return b, svc
}

var _ Service = (*mock.Service)(nil)

func TestNewValidates(t *testing.T) {
	_, err := New(Config{})
	if err == nil {
		t.Fatal("New accepted an empty config")
	}
	for _, want := range []string{"Service", "Slack client", "ApprovalChannel"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func testLogger(testing.TB) *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestCheck(t *testing.T) {
	fake := fakeslack.New()
	defer fake.Close()
	if err := Check(context.Background(), slack.New(fake.Token, slack.OptionAPIURL(fake.APIURL()))); err != nil {
		t.Errorf("Check: %v", err)
	}
	err := Check(context.Background(), slack.New("xoxb-wrong", slack.OptionAPIURL(fake.APIURL())))
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("Check with a wrong token: %v", err)
	}
}

func TestPoolBoundsAndDrains(t *testing.T) {
	p := newPool(2, 4, testLogger(t))
	release := make(chan struct{})
	var ran atomic.Int32
	accepted := 0
	for range 20 {
		if p.submit("test", false, func(ctx context.Context) { <-release; ran.Add(1) }) {
			accepted++
		}
	}
	// 2 running, 4 queued: the rest is refused at once, nothing blocks.
	if accepted > 6 || accepted < 4 {
		t.Errorf("%d jobs accepted by 2 workers with a queue of 4", accepted)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if int(ran.Load()) != accepted {
		t.Errorf("%d of %d accepted jobs ran before shutdown returned", ran.Load(), accepted)
	}
	if p.submit("late", false, func(context.Context) {}) {
		t.Error("a job was accepted after shutdown")
	}
}

func TestPoolUrgentFirst(t *testing.T) {
	p := newPool(1, 8, testLogger(t))
	gate := make(chan struct{})
	var mu sync.Mutex
	var order []string
	record := func(s string) func(context.Context) {
		return func(context.Context) { mu.Lock(); order = append(order, s); mu.Unlock() }
	}
	p.submit("block", false, func(context.Context) { <-gate })
	time.Sleep(20 * time.Millisecond) // the worker is busy
	p.submit("n1", false, record("normal"))
	p.submit("n2", false, record("normal"))
	p.submit("u", true, record("urgent"))
	close(gate)
	if err := p.shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(order) != 3 || order[0] != "urgent" {
		t.Errorf("order %v, want the urgent job first", order)
	}
}

func TestPoolShutdownGivesUp(t *testing.T) {
	p := newPool(1, 1, testLogger(t))
	p.submit("slow", false, func(ctx context.Context) { <-ctx.Done() })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.shutdown(ctx); err == nil {
		t.Error("shutdown did not report that it gave up waiting")
	}
}

func TestPoolSurvivesPanic(t *testing.T) {
	p := newPool(1, 2, testLogger(t))
	done := make(chan struct{})
	p.submit("boom", false, func(context.Context) { panic("boom") })
	p.submit("after", false, func(context.Context) { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the worker died with the panicking job")
	}
	_ = p.shutdown(context.Background())
}

func TestMemo(t *testing.T) {
	m := newMemo(50*time.Millisecond, 3)
	if !m.first("a") || m.first("a") {
		t.Fatal("a key is not remembered")
	}
	m.forget("a")
	if !m.first("a") {
		t.Fatal("a forgotten key is remembered")
	}
	m.first("b")
	m.first("c")
	m.first("d") // over the limit: the oldest goes
	if !m.first("a") {
		t.Error("the oldest key survived past the limit")
	}
	time.Sleep(60 * time.Millisecond)
	if !m.first("d") {
		t.Error("a key survived its ttl")
	}
	if len(m.at) > 3 {
		t.Errorf("%d keys kept, limit 3", len(m.at))
	}
}

func TestShutdownStopsIntake(t *testing.T) {
	h := newHandlerRig(t)
	if err := h.bot.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	reply, err := h.app.Command("U0HELP1", "/mfa", "help")
	if err != nil || reply.Status != http.StatusServiceUnavailable {
		t.Errorf("after shutdown: %v %+v, want 503", err, reply)
	}
	// Notifications after shutdown are dropped, not blocked on.
	h.bot.Changed(context.Background(), actions.Request{ID: "R1", State: actions.StatePending})
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	h := newHandlerRig(t)
	big := []byte("payload=" + strings.Repeat("x", maxBody))
	reply, err := h.app.Send("/slack/interactivity", big, 0)
	if err != nil || reply.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the limit: %v %+v, want 413", err, reply.Status)
	}
}
