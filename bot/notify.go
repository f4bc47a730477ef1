package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
)

// Changed redraws r's approval message (posting it when r is new) and, when
// r has ended, tells the requester. It only queues the work: the service and
// the executor call it while they work.
func (b *Bot) Changed(_ context.Context, r actions.Request) {
	if r.State.Terminal() && r.State != actions.StateCancelled {
		b.tellOutcome(r)
	}
	b.msgs.changed(r)
}

// DeliverSecret sends the requester t's secret in a direct message. The
// value is only ever in that message: not in the notification text, not in
// the channel, not in the log. It returns an error when the message was
// not delivered.
func (b *Bot) DeliverSecret(ctx context.Context, r actions.Request, t actions.Target, s *actions.Secret) error {
	if s == nil {
		return errors.New("deliver secret: no secret")
	}
	if r.Requester.SlackID == "" {
		return errors.New("deliver secret: the requester has no Slack ID")
	}
	_, _, err := b.dm(ctx, r.Requester.SlackID, secretText(r, s.Kind), secretBlocks(r, t, s.Kind, s.Reveal(), s.Note))
	if err != nil {
		return fmt.Errorf("deliver %s to the requester: %w", s.Kind, err)
	}
	b.log.InfoContext(ctx, "secret delivered", "request_id", r.ID, "kind", s.Kind, "directory_id", t.DirectoryID)
	return nil
}

// ManualSteps sends every approver of r the steps, with Done and Failed
// buttons. It fails when any of them could not be reached.
func (b *Bot) ManualSteps(ctx context.Context, r actions.Request, steps string) error {
	var errs []error
	for _, a := range r.Approvals {
		if _, _, err := b.dm(ctx, a.By.SlackID, "Manual step for request "+r.ID, manualBlocks(r, steps)); err != nil {
			errs = append(errs, fmt.Errorf("send manual steps to %s: %w", a.By.SlackID, err))
		}
	}
	return errors.Join(errs...)
}

// tellOutcome tells the requester privately how their request ended, once.
func (b *Bot) tellOutcome(r actions.Request) {
	if r.Requester.SlackID == "" || !b.seen.first("outcome:"+r.ID) {
		return
	}
	b.mustEnqueue("outcome", func(ctx context.Context) {
		if _, _, err := b.dm(ctx, r.Requester.SlackID, outcomeText(r), outcomeBlocks(r)); err != nil {
			b.log.ErrorContext(ctx, "outcome not sent", "request_id", r.ID, "error", err)
		}
	}, nil)
}

// renderer keeps each request's approval message in step with the request.
// It redraws from the stored request (so that the newest state wins, even
// when changes are reported out of order or by other replicas), skips a
// redraw that would not change the message, draws progress at most once per
// UpdateInterval, and a final state at once. At most one redraw per request
// runs at a time.
type renderer struct {
	b  *Bot
	mu sync.Mutex
	m  map[string]*message
}

// message is what the renderer knows of one request's approval message.
type message struct {
	latest   actions.Request // newest version reported
	mayPost  bool            // reported here as new: this process posts it
	ref      string          // "channel/ts" once posted
	drawn    uint64          // fingerprint of what the message shows
	lastSent time.Time
	busy     bool // a redraw is queued, waiting or running
	timer    *time.Timer
	failures int // redraws that failed in a row
}

// maxRedrawFailures is how many times a failed redraw is tried again.
const maxRedrawFailures = 3

func newRenderer(b *Bot) *renderer { return &renderer{b: b, m: map[string]*message{}} }

func (rd *renderer) changed(r actions.Request) {
	rd.mu.Lock()
	m := rd.m[r.ID]
	if m == nil {
		m = &message{}
		rd.m[r.ID] = m
	}
	if r.Version >= m.latest.Version {
		m.latest = r
	}
	if r.State == actions.StatePending && r.Message == "" {
		m.mayPost = true
	}
	now := false
	if !m.busy {
		m.busy, now = true, true
	} else if r.State.Terminal() && m.timer != nil && m.timer.Stop() {
		m.timer, now = nil, true // the final state does not wait
	}
	rd.mu.Unlock()
	if now {
		rd.schedule(r.ID)
	}
}

// schedule queues a redraw of request id, whose message is busy.
func (rd *renderer) schedule(id string) {
	rd.b.mustEnqueue("message update", func(ctx context.Context) { rd.redraw(ctx, id) }, func() {
		rd.mu.Lock()
		if m := rd.m[id]; m != nil {
			m.busy = false
		}
		rd.mu.Unlock()
	})
}

// later schedules a redraw after d; the caller holds rd.mu.
func (rd *renderer) later(id string, m *message, d time.Duration) {
	m.timer = time.AfterFunc(d, func() {
		rd.mu.Lock()
		m.timer = nil
		rd.mu.Unlock()
		rd.schedule(id)
	})
}

// flushAll draws every waiting update now (at shutdown).
func (rd *renderer) flushAll() {
	var ids []string
	rd.mu.Lock()
	for id, m := range rd.m {
		if m.timer != nil && m.timer.Stop() {
			m.timer = nil
			ids = append(ids, id)
		}
	}
	rd.mu.Unlock()
	for _, id := range ids {
		rd.schedule(id)
	}
}

func fingerprint(blocks []slack.Block) uint64 {
	h := fnv.New64a()
	_ = json.NewEncoder(h).Encode(blocks)
	return h.Sum64()
}

// redraw brings request id's message up to date.
func (rd *renderer) redraw(ctx context.Context, id string) {
	b := rd.b
	rd.mu.Lock()
	m := rd.m[id]
	if m == nil { // cannot happen: an entry is kept while a redraw is due
		rd.mu.Unlock()
		return
	}
	reported := m.latest
	rd.mu.Unlock()

	cur, err := b.svc.Get(ctx, id)
	if err != nil || cur.Version < reported.Version {
		if err != nil {
			b.log.WarnContext(ctx, "redraw from the reported state", "request_id", id, "error", err)
		}
		cur = reported
	}
	blocks := approvalMessage(cur)
	fp := fingerprint(blocks)

	rd.mu.Lock()
	ref := m.ref
	if ref == "" {
		ref = cur.Message
	}
	switch wait := b.cfg.UpdateInterval - time.Since(m.lastSent); {
	case ref == "" && !m.mayPost, fp == m.drawn: // no message to draw on here, or nothing new
		rd.done(id, m, cur)
		rd.mu.Unlock()
		return
	case ref != "" && !cur.State.Terminal() && wait > 0:
		rd.later(id, m, wait)
		rd.mu.Unlock()
		return
	}
	rd.mu.Unlock()

	posted := false
	if ref == "" {
		var ts string
		if ts, err = b.post(ctx, b.cfg.ApprovalChannel, fallbackText(cur), blocks); err == nil {
			ref, posted = b.cfg.ApprovalChannel+"/"+ts, true
			if aerr := b.svc.AttachMessage(ctx, id, ref); aerr != nil {
				b.log.ErrorContext(ctx, "remember approval message", "request_id", id, "error", aerr)
			}
		}
	} else if channel, ts, ok := parseRef(ref); ok {
		err = b.update(ctx, channel, ts, fallbackText(cur), blocks)
	} else {
		err = fmt.Errorf("malformed message reference %q", ref)
	}
	if err != nil {
		b.log.ErrorContext(ctx, "approval message not drawn", "request_id", id, "state", cur.State, "error", err)
	}

	rd.mu.Lock()
	defer rd.mu.Unlock()
	if err == nil {
		m.ref, m.drawn, m.lastSent, m.failures = ref, fp, time.Now(), 0
	} else {
		m.failures++
	}
	switch {
	case err != nil && m.failures <= maxRedrawFailures:
		rd.later(id, m, b.cfg.UpdateInterval<<m.failures)
	case posted:
		// A change stored before the message was remembered may have been
		// reported elsewhere with no message to draw on: look once more.
		rd.later(id, m, b.cfg.UpdateInterval)
	default:
		rd.done(id, m, cur)
	}
}

// done ends a redraw of cur: it redraws again at once when a newer version
// was reported meanwhile, and forgets a request whose final state is drawn.
// The caller holds rd.mu.
func (rd *renderer) done(id string, m *message, cur actions.Request) {
	switch {
	case m.latest.Version > cur.Version:
		rd.later(id, m, 0)
	case cur.State.Terminal() && m.timer == nil:
		delete(rd.m, id)
	default:
		m.busy = false
	}
}
