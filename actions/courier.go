package actions

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Sentinels of notice delivery.
var (
	// ErrUndeliverable: the notice cannot reach its recipient: no chat
	// account for the email, a deactivated one, no manager. It is not
	// tried again; the error says why.
	ErrUndeliverable = errors.New("undeliverable")
	// ErrNotSent: posting certainly delivered nothing (the chat service
	// refused or throttled it), so it may be tried again.
	ErrNotSent = errors.New("not sent")
)

// Messenger delivers notices over chat. The Slack bot implements it.
type Messenger interface {
	// FindPerson returns the chat account with this email. An error
	// wrapping ErrUndeliverable says there is none, or it is deactivated.
	FindPerson(ctx context.Context, email string) (Person, error)
	// SendNotice posts notice k of r to its Recipient (a chat user ID; the
	// security channel for NoticeSecurity) and returns where the message
	// is. An error wrapping ErrNotSent or ErrUndeliverable delivered
	// nothing; after any other error the message may have arrived.
	SendNotice(ctx context.Context, r Request, k int) (string, error)
}

// CourierOptions tune a Courier; zero values take the defaults.
type CourierOptions struct {
	// Owner names this courier in claims; unique per process.
	Owner string
	// Lease is how long a claim lasts (default 2m): longer than a look-up
	// and a post take together.
	Lease time.Duration
	// Poll is how often to look for notices when idle (default 1s).
	Poll time.Duration
	// Backoff is the wait before the first retry, doubled each time
	// (default 5s).
	Backoff time.Duration
	// Sleep waits between tries to record a notice; nil means a timer.
	Sleep    func(context.Context, time.Duration) error
	Notifier Notifier
	Logger   *slog.Logger
	Now      func() time.Time
}

// Courier delivers the notices that requests owe, durably: a notice is
// claimed under its request's lock, its recipient found, marked as posting,
// posted, and recorded with its `notified` event, so that any replica — or
// the same one after a restart — picks up what another left, and nothing is
// posted twice (see Notice).
type Courier struct {
	store Store
	dir   Directory
	msg   Messenger
	opts  CourierOptions
	kick  chan struct{}
}

// NewCourier returns a courier delivering over msg; dir finds managers.
func NewCourier(store Store, dir Directory, msg Messenger, opts CourierOptions) *Courier {
	opts.Owner = cmp.Or(opts.Owner, processOwner("notice"))
	opts.Lease = positiveOr(opts.Lease, 2*time.Minute)
	opts.Poll = positiveOr(opts.Poll, time.Second)
	opts.Backoff = positiveOr(opts.Backoff, 5*time.Second)
	if opts.Notifier == nil {
		opts.Notifier = nopNotifier{}
	}
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = SleepContext
	}
	return &Courier{store: store, dir: dir, msg: msg, opts: opts, kick: make(chan struct{}, 1)}
}

// Kick wakes the courier to look for notices now.
func (c *Courier) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run delivers notices until ctx ends; a delivery under way when it ends is
// finished first (bounded by the messenger's own timeouts).
func (c *Courier) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		found, err := c.DeliverOnce(context.WithoutCancel(ctx))
		if err != nil {
			c.opts.Logger.ErrorContext(ctx, "deliver notice", "error", err)
		}
		if found && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-c.kick:
		case <-time.After(c.opts.Poll):
		}
	}
	return nil
}

// DeliverOnce takes one waiting notice and delivers it, reporting whether
// there was one. Its error is the store's; delivery problems are recorded
// on the notice.
func (c *Courier) DeliverOnce(ctx context.Context) (bool, error) {
	now := c.opts.Now()
	r, k, err := c.store.ClaimNotice(ctx, now, func(r Request, k int) (Request, []Event, error) {
		return r.TakeNotice(k, c.opts.Owner, now, now.Add(c.opts.Lease))
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case errors.Is(err, ErrConflict):
		return true, nil // taken by another courier meanwhile
	case err != nil:
		return false, err
	}
	n := r.Notices[k]
	log := c.opts.Logger.With("request_id", r.ID, "notice", n.To, "target", n.Target)
	if n.State.Final() { // found uncertain: recorded, nothing to post
		log.WarnContext(ctx, "notice uncertain: not posted again")
		c.opts.Notifier.Changed(ctx, r)
		return true, nil
	}
	hold, release := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() { defer close(renewed); c.renew(hold, r.ID, k, log) }()
	err = c.deliver(ctx, r, k, log)
	release()
	<-renewed
	return true, err
}

// renew extends the claim on notice k every Lease/3 until ctx ends, so that
// a slow look-up or post is not taken for a dead courier's.
func (c *Courier) renew(ctx context.Context, id string, k int, log *slog.Logger) {
	t := time.NewTicker(c.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := c.store.Update(ctx, id, func(cur Request) (Request, []Event, error) {
			next, err := cur.RenewNotice(k, c.opts.Owner, c.opts.Now().Add(c.opts.Lease))
			return next, nil, err
		})
		if errors.Is(err, ErrLeaseLost) {
			return
		}
		if err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "renew notice claim", "error", err)
		}
	}
}

func (c *Courier) deliver(ctx context.Context, r Request, k int, log *slog.Logger) error {
	n := r.Notices[k]
	recipient, err := c.recipient(ctx, r, n)
	if err != nil {
		return c.failed(ctx, r.ID, k, err, log)
	}
	r, err = c.store.Update(ctx, r.ID, func(cur Request) (Request, []Event, error) {
		now := c.opts.Now()
		next, err := cur.PostNotice(k, c.opts.Owner, recipient, now, now.Add(c.opts.Lease))
		return next, nil, err
	})
	if err != nil {
		return fmt.Errorf("mark notice %d of %s posting: %w", k, r.ID, err)
	}
	ref, err := c.msg.SendNotice(ctx, r, k)
	if err != nil && !errors.Is(err, ErrNotSent) && !errors.Is(err, ErrUndeliverable) {
		log.ErrorContext(ctx, "notice may not have arrived: not posted again", "error", err)
		return c.end(ctx, r.ID, k, NoticeUncertain, "posting failed and may or may not have arrived ("+err.Error()+"); not posted again, so that it is never sent twice", "")
	}
	if err != nil {
		return c.failed(ctx, r.ID, k, err, log)
	}
	log.InfoContext(ctx, "notice sent", "recipient", recipient)
	return c.end(ctx, r.ID, k, NoticeSent, "", ref)
}

// recipient finds the chat user a notice goes to.
func (c *Courier) recipient(ctx context.Context, r Request, n Notice) (string, error) {
	if n.Target < 0 || n.Target >= len(r.Targets) {
		return "", fmt.Errorf("notice names no target: %w", ErrUndeliverable)
	}
	t := r.Targets[n.Target]
	switch n.To {
	case NoticeSecurity:
		return "", nil // the messenger knows the channel
	case NoticeReporter:
		if n.Recipient != "" {
			return n.Recipient, nil
		}
		return t.SlackID, nil
	case NoticeManager:
		m, err := c.dir.Manager(ctx, t.DirectoryID)
		if errors.Is(err, ErrNoManager) {
			return "", fmt.Errorf("%s has no manager in the directory: %w", t.Email, ErrUndeliverable)
		}
		if err != nil {
			return "", fmt.Errorf("look up the manager of %s: %w", t.Email, err)
		}
		if m.Email == "" {
			return "", fmt.Errorf("the manager of %s has no email in the directory: %w", t.Email, ErrUndeliverable)
		}
		p, err := c.msg.FindPerson(ctx, m.Email)
		if err != nil {
			return "", fmt.Errorf("manager %s: %w", m.Email, err)
		}
		return p.SlackID, nil
	}
	p, err := c.msg.FindPerson(ctx, t.Email)
	if err != nil {
		return "", err
	}
	return p.SlackID, nil
}

// failed records a delivery that reached nobody: undeliverable for good, or
// due again later.
func (c *Courier) failed(ctx context.Context, id string, k int, cause error, log *slog.Logger) error {
	if errors.Is(cause, ErrUndeliverable) {
		log.WarnContext(ctx, "notice undeliverable", "reason", cause.Error())
		return c.end(ctx, id, k, NoticeUndeliverable, undeliverableReason(cause), "")
	}
	log.WarnContext(ctx, "notice not sent: will retry", "error", cause)
	r, err := c.store.Update(ctx, id, func(cur Request) (Request, []Event, error) {
		wait := c.opts.Backoff << min(cur.Notices[k].Attempts, 10)
		return cur.RetryNotice(k, c.opts.Owner, cause.Error(), wait, c.opts.Now())
	})
	if err != nil {
		return fmt.Errorf("give notice %d of %s back: %w", k, id, err)
	}
	if r.Notices[k].State.Final() {
		c.opts.Notifier.Changed(ctx, r)
	}
	return nil
}

// endTries, endBackoffBase and endBackoffMax bound the tries to record how a
// notice ended: about half a minute in all.
const (
	endTries       = 8
	endBackoffBase = 200 * time.Millisecond
	endBackoffMax  = 5 * time.Second
)

// undeliverableReason is the reason without the sentinel's own word.
func undeliverableReason(err error) string {
	s := err.Error()
	const suffix = ": " + "undeliverable"
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)]
	}
	return s
}

// end records how notice k ended. A store that fails is tried again for
// a while (a sent notice must not end up "uncertain" for a database blip);
// a claim lost meanwhile is not.
func (c *Courier) end(ctx context.Context, id string, k int, st NoticeState, detail, ref string) error {
	var (
		r   Request
		err error
	)
	for try := 1; ; try++ {
		r, err = c.store.Update(ctx, id, func(cur Request) (Request, []Event, error) {
			return cur.EndNotice(k, c.opts.Owner, st, detail, ref, c.opts.Now())
		})
		if err == nil || errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrDuplicate) || errors.Is(err, ErrNotFound) ||
			try >= endTries || c.opts.Sleep(ctx, backoffDelay(try, endBackoffBase, endBackoffMax)) != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("record notice %d of %s as %s: %w", k, id, st, err)
	}
	c.opts.Notifier.Changed(ctx, r)
	return nil
}
