package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/blocks"
)

// renderer keeps each request's approval message in step with the request.
// It redraws from the stored request (so that the newest state wins, even
// when changes are reported out of order or by other replicas), skips a
// redraw that would not change the message, draws progress at most once per
// interval, and a final state at once. At most one redraw per request is
// queued, waiting or running at a time.
//
// The renderer owns its state: the map and every message in it are read
// and written only by its methods, under mu. A redraw job carries its
// message, so it never looks for one that is gone.
type renderer struct {
	*core
	interval time.Duration
	mu       sync.Mutex
	m        map[string]*message
}

// message is what the renderer knows of one request's approval message.
type message struct {
	id       string
	latest   actions.Request // newest version reported
	mayPost  bool            // reported here as new: this process posts it
	ref      string          // "channel/ts" once posted
	drawn    uint64          // fingerprint of what the message shows
	lastSent time.Time
	busy     bool // a redraw is queued, waiting or running
	timer    *time.Timer
	failures int // redraws that failed in a row
	// signingIn are approvers signing in to approve (step-up), shown until
	// their approval is recorded.
	signingIn []string
	// seenSigningIn is how many of signingIn the last redraw showed: one
	// added while a redraw runs brings another.
	seenSigningIn int
}

// maxRedrawFailures is how many times a failed redraw is tried again.
const maxRedrawFailures = 3

func newRenderer(c *core, interval time.Duration) *renderer {
	return &renderer{core: c, interval: interval, m: map[string]*message{}}
}

// note returns the message of r, new if it has none, with r as its latest
// version unless it knows a later one. ren.mu must be held.
func (ren *renderer) note(r actions.Request) *message {
	m := ren.m[r.ID]
	if m == nil {
		m = &message{id: r.ID}
		ren.m[r.ID] = m
	}
	if r.Version >= m.latest.Version {
		m.latest = r
	}
	return m
}

// changed takes a reported version of r and starts a redraw unless one is
// under way; a final state cuts a waiting redraw short.
func (ren *renderer) changed(r actions.Request) {
	ren.mu.Lock()
	m := ren.note(r)
	if r.State == actions.StatePending && r.Message == "" {
		m.mayPost = true
	}
	now := false
	if !m.busy {
		m.busy, now = true, true
	} else if r.State.Terminal() && m.timer != nil && m.timer.Stop() {
		m.timer, now = nil, true // the final state does not wait
	}
	ren.mu.Unlock()
	if now {
		ren.schedule(m)
	}
}

// signingIn notes that slackID is signing in to approve r and redraws its
// message.
func (ren *renderer) signingIn(r actions.Request, slackID string) {
	ren.mu.Lock()
	m := ren.note(r)
	if !slices.Contains(m.signingIn, slackID) {
		m.signingIn = append(m.signingIn, slackID)
	}
	now := !m.busy
	m.busy = true
	ren.mu.Unlock()
	if now {
		ren.schedule(m)
	}
}

// schedule queues a redraw of m, which is busy.
func (ren *renderer) schedule(m *message) {
	ren.jobs.mustEnqueue("message update", func(ctx context.Context) { ren.redraw(ctx, m) }, func() {
		ren.mu.Lock()
		m.busy = false
		ren.mu.Unlock()
	})
}

// later schedules a redraw of m after d; the caller holds mu.
func (ren *renderer) later(m *message, d time.Duration) {
	m.timer = time.AfterFunc(d, func() {
		ren.mu.Lock()
		m.timer = nil
		ren.mu.Unlock()
		ren.schedule(m)
	})
}

// flushAll draws every waiting update now (at shutdown).
func (ren *renderer) flushAll() {
	var due []*message
	ren.mu.Lock()
	for _, m := range ren.m {
		if m.timer != nil && m.timer.Stop() {
			m.timer = nil
			due = append(due, m)
		}
	}
	ren.mu.Unlock()
	for _, m := range due {
		ren.schedule(m)
	}
}

func fingerprint(content []slack.Block) uint64 {
	h := fnv.New64a()
	_ = json.NewEncoder(h).Encode(content)
	return h.Sum64()
}

// redraw brings m up to date.
func (ren *renderer) redraw(ctx context.Context, m *message) {
	ren.mu.Lock()
	reported := m.latest
	ren.mu.Unlock()

	cur, err := ren.svc.Get(ctx, m.id)
	if err != nil || cur.Version < reported.Version {
		if err != nil {
			ren.log.WarnContext(ctx, "redraw from the reported state", "request_id", m.id, "error", err)
		}
		cur = reported
	}
	ren.mu.Lock()
	signingIn := slices.Clone(m.signingIn)
	m.seenSigningIn = len(signingIn)
	ren.mu.Unlock()
	content := blocks.WithSigningIn(blocks.ApprovalMessage(cur), cur, signingIn)
	fp := fingerprint(content)

	ren.mu.Lock()
	ref := m.ref
	if ref == "" {
		ref = cur.Message
	}
	switch wait := ren.interval - time.Since(m.lastSent); {
	case ref == "" && !m.mayPost, fp == m.drawn: // no message to draw on here, or nothing new
		ren.done(m, cur)
		ren.mu.Unlock()
		return
	case ref != "" && !cur.State.Terminal() && wait > 0:
		ren.later(m, wait)
		ren.mu.Unlock()
		return
	}
	ren.mu.Unlock()

	first := ref == ""
	ref, posted, err := ren.draw(ctx, cur, ref, content)
	if err != nil {
		ren.log.ErrorContext(ctx, "approval message not drawn", "request_id", m.id, "state", cur.State, "error", err)
		if code := unpostable(err); first && code != "" && cur.State == actions.StatePending {
			// No retry can help: end the request and tell the requester
			// now, rather than let it expire unseen.
			ren.abandon(ctx, cur, code)
			ren.mu.Lock()
			ren.done(m, cur)
			ren.mu.Unlock()
			return
		}
	}

	ren.mu.Lock()
	defer ren.mu.Unlock()
	if err == nil {
		m.ref, m.drawn, m.lastSent, m.failures = ref, fp, time.Now(), 0
	} else {
		m.failures++
	}
	switch {
	case err != nil && m.failures <= maxRedrawFailures:
		ren.later(m, ren.interval<<m.failures)
	case posted:
		// A change stored before the message was remembered may have been
		// reported elsewhere with no message to draw on: look once more.
		ren.later(m, ren.interval)
	default:
		ren.done(m, cur)
	}
}

// draw posts cur's approval message (ref "") or updates the one at ref. It
// returns the message's reference and whether it posted.
func (ren *renderer) draw(ctx context.Context, cur actions.Request, ref string, content []slack.Block) (string, bool, error) {
	if ref == "" {
		ts, err := ren.slack.post(ctx, ren.channel, blocks.FallbackText(cur), content)
		if err != nil {
			return "", false, err
		}
		ref = ren.channel + "/" + ts
		ren.remember(ctx, cur.ID, ref)
		return ref, true, nil
	}
	channel, ts, ok := parseRef(ref)
	if !ok {
		return ref, false, fmt.Errorf("malformed message reference %q", ref)
	}
	return ref, false, ren.slack.update(ctx, channel, ts, blocks.FallbackText(cur), content)
}

// remember stores where request id's approval message is. When the
// database is away the message exists already, so the write is retried in
// the background until it is stored or the bot stops (README, "Database
// outages and crash recovery"): this process draws on its remembered
// reference meanwhile, and no replica posts the message again.
func (ren *renderer) remember(ctx context.Context, id, ref string) {
	err := ren.svc.AttachMessage(ctx, id, ref)
	if err == nil {
		return
	}
	if !errors.Is(err, actions.ErrUnavailable) {
		ren.log.ErrorContext(ctx, "remember approval message", "request_id", id, "error", err)
		return
	}
	ren.log.ErrorContext(ctx, "approval message posted; remembering it waits for the database", "request_id", id, "error", err)
	go func() {
		tries, err := actions.RetryWhileUnavailable(ren.jobs.pool.ctx, func(ctx context.Context) error {
			return ren.svc.AttachMessage(ctx, id, ref)
		}, nil)
		if err != nil {
			ren.log.Error("remember approval message", "request_id", id, "tries", tries, "error", err)
			return
		}
		ren.log.Info("approval message remembered after the database returned", "request_id", id, "tries", tries)
	}()
}

// done ends a redraw of cur: it redraws again at once when a newer version,
// or an approver signing in (step-up), was reported meanwhile, and forgets a request whose final state is drawn.
// The caller holds mu.
func (ren *renderer) done(m *message, cur actions.Request) {
	switch {
	case m.latest.Version > cur.Version, len(m.signingIn) > m.seenSigningIn:
		ren.later(m, 0)
	case cur.State.Terminal() && m.timer == nil:
		delete(ren.m, m.id)
	default:
		m.busy = false
	}
}

// unpostable returns Slack's error code when err says the approval channel
// cannot take the bot's messages at all, "" otherwise.
func unpostable(err error) string {
	for _, code := range []string{"not_in_channel", "channel_not_found", "is_archived"} {
		if slackErr(err, code) {
			return code
		}
	}
	return ""
}

// abandon ends request r, whose approval message Slack refused with code,
// and tells its requester what to do.
func (ren *renderer) abandon(ctx context.Context, r actions.Request, code string) {
	reason := "the approval request could not be posted in " + ren.channel + " (" + code + ")"
	if _, err := ren.svc.Abandon(ctx, r.ID, reason); err != nil {
		// Approved or cancelled meanwhile, or the database failed: the
		// request keeps its course.
		ren.log.WarnContext(ctx, "unposted request not ended", "request_id", r.ID, "error", err)
		return
	}
	ren.log.ErrorContext(ctx, "request ended: the approval channel does not take the bot's messages; run /invite @mfadesk there",
		"request_id", r.ID, "channel", ren.channel, "error", code)
	if r.Requester.SlackID == "" {
		return
	}
	text := blocks.UnpostedText(r, ren.channel, code)
	if _, _, err := ren.slack.dm(ctx, r.Requester.SlackID, text, []slack.Block{blocks.Section(text)}); err != nil {
		ren.log.ErrorContext(ctx, "requester not told of the unposted request", "request_id", r.ID, "error", err)
	}
}
