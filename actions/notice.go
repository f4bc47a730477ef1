package actions

import (
	"fmt"
	"time"
)

// A Notice is a message mfadesk owes someone because of a request: the user
// an action ran on ("this was done to your account", with "This wasn't me"),
// their manager, and, after a "This wasn't me" report, the security channel
// and the user who reported. Notices are part of the request's durable
// record: one is made in the same transaction as the change that calls for
// it, and a Courier (any replica) delivers it once. See the README's "Notice,
// "This wasn't me" and containment".
//
// A notice moves due -> claimed (its recipient is being found) -> posting
// (the message is being posted) -> sent, or ends undeliverable (no chat
// account, a deactivated one, no manager), failed (gave up after retries) or
// uncertain (the courier stopped while posting: it is not posted again, so
// that nobody is told twice). Each end writes one `notified` audit event.
type Notice struct {
	To NoticeTo
	// Target is the index in Request.Targets of the user it is about.
	Target int
	State  NoticeState
	// After, when set, holds the notice until that request has ended: a
	// report's alert waits for the last containment step.
	After string
	// Recipient is the chat user it was posted to, once known.
	Recipient string
	// Detail says why it was not delivered, or the last error.
	Detail string
	// Ref is where the message is ("channel/ts"), once posted.
	Ref string
	// Attempts counts failed tries; NotBefore is when a due notice may be
	// tried again.
	Attempts  int
	NotBefore time.Time
	// Owner and Until are the courier holding a claimed or posting notice,
	// and when its claim lapses.
	Owner string
	Until time.Time
	// CreatedAt is when it became owed; UpdatedAt its last change.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NoticeTo says whom a notice is for.
type NoticeTo string

// Notice recipients.
const (
	// NoticeTarget: the user the action ran on; the message carries the
	// "This wasn't me" button.
	NoticeTarget NoticeTo = "target"
	// NoticeManager: the target's manager in the directory.
	NoticeManager NoticeTo = "manager"
	// NoticeSecurity: the security channel, after a "This wasn't me" report.
	NoticeSecurity NoticeTo = "security"
	// NoticeReporter: the user who reported, told what was done and what to
	// do next.
	NoticeReporter NoticeTo = "reporter"
)

// NoticeState is where a notice is in its delivery.
type NoticeState string

// Notice states.
const (
	NoticeDue           NoticeState = "due"
	NoticeClaimed       NoticeState = "claimed"
	NoticePosting       NoticeState = "posting"
	NoticeSent          NoticeState = "sent"
	NoticeUndeliverable NoticeState = "undeliverable"
	NoticeFailed        NoticeState = "failed"
	NoticeUncertain     NoticeState = "uncertain"
)

// Final reports whether the notice's delivery has ended, one way or another.
func (s NoticeState) Final() bool {
	switch s {
	case NoticeSent, NoticeUndeliverable, NoticeFailed, NoticeUncertain:
		return true
	}
	return false
}

// Undelivered returns the notices of r that ended without reaching anyone,
// for the request's message.
func (r Request) Undelivered() []Notice {
	var out []Notice
	for _, n := range r.Notices {
		if n.State.Final() && n.State != NoticeSent {
			out = append(out, n)
		}
	}
	return out
}

// NoticeAttempts is how many times a notice is tried before it is given up
// as failed.
const NoticeAttempts = 5

// actionNotices are the notices owed once action r ran on target i.
func (r Request) actionNotices(i int, now time.Time) []Notice {
	if r.Containment != nil {
		return nil // the reporter is told by the report's own notice
	}
	var out []Notice
	if r.NotifyTarget {
		out = append(out, Notice{To: NoticeTarget, Target: i, State: NoticeDue, CreatedAt: now, UpdatedAt: now})
	}
	if r.NotifyManager {
		out = append(out, Notice{To: NoticeManager, Target: i, State: NoticeDue, CreatedAt: now, UpdatedAt: now})
	}
	return out
}

func (r Request) noticeAt(k int) (Notice, error) {
	if k < 0 || k >= len(r.Notices) {
		return Notice{}, fmt.Errorf("request %s has no notice %d", r.ID, k)
	}
	return r.Notices[k], nil
}

// TakeNotice claims notice k for owner until until. A due notice (whose
// NotBefore has come) or a claimed one whose claim lapsed becomes claimed.
// A posting one whose claim lapsed ends uncertain, with its `notified`
// event: its courier stopped while posting, so it may have arrived, and it
// is not posted again. Anything else is ErrConflict.
func (r Request) TakeNotice(k int, owner string, now, until time.Time) (Request, []Event, error) {
	n, err := r.noticeAt(k)
	if err != nil {
		return r, nil, err
	}
	lapsed := !now.Before(n.Until)
	switch {
	case n.State == NoticeDue && !now.Before(n.NotBefore), n.State == NoticeClaimed && lapsed:
		c := r.Clone()
		n.State, n.Owner, n.Until, n.UpdatedAt = NoticeClaimed, owner, until, now
		c.Notices[k] = n
		return c, nil, nil
	case n.State == NoticePosting && lapsed:
		return r.EndNotice(k, n.Owner, NoticeUncertain,
			"mfadesk stopped while posting it, so it may have arrived; not posted again, so that it is never sent twice", "", now)
	}
	return r, nil, decisionErr(ErrConflict, "notice %d of request %s is %s, not due", k, r.ID, n.State)
}

func (r Request) heldNotice(k int, owner string, want NoticeState) (Notice, error) {
	n, err := r.noticeAt(k)
	if err != nil {
		return Notice{}, err
	}
	if n.State != want || n.Owner != owner {
		return Notice{}, fmt.Errorf("notice %d of request %s is %s by %q: %w", k, r.ID, n.State, n.Owner, ErrLeaseLost)
	}
	return n, nil
}

// PostNotice records that owner, holding notice k, is about to post it to
// recipient: from now on a stop leaves it uncertain rather than due.
func (r Request) PostNotice(k int, owner, recipient string, now, until time.Time) (Request, error) {
	n, err := r.heldNotice(k, owner, NoticeClaimed)
	if err != nil {
		return r, err
	}
	c := r.Clone()
	n.State, n.Recipient, n.Until, n.UpdatedAt = NoticePosting, recipient, until, now
	c.Notices[k] = n
	return c, nil
}

// RenewNotice extends owner's claim on notice k, claimed or posting, to
// until; ErrLeaseLost when owner no longer holds it.
func (r Request) RenewNotice(k int, owner string, until time.Time) (Request, error) {
	n, err := r.noticeAt(k)
	if err != nil {
		return r, err
	}
	if (n.State != NoticeClaimed && n.State != NoticePosting) || n.Owner != owner {
		return r, fmt.Errorf("notice %d of request %s is %s by %q: %w", k, r.ID, n.State, n.Owner, ErrLeaseLost)
	}
	c := r.Clone()
	n.Until = until
	c.Notices[k] = n
	return c, nil
}

// RetryNotice gives notice k back after a failure that certainly delivered
// nothing: due again after wait, or failed (with its event) once it has had
// NoticeAttempts tries.
func (r Request) RetryNotice(k int, owner, problem string, wait time.Duration, now time.Time) (Request, []Event, error) {
	n, err := r.noticeAt(k)
	if err != nil {
		return r, nil, err
	}
	if (n.State != NoticeClaimed && n.State != NoticePosting) || n.Owner != owner {
		return r, nil, fmt.Errorf("notice %d of request %s is %s by %q: %w", k, r.ID, n.State, n.Owner, ErrLeaseLost)
	}
	if n.Attempts+1 >= NoticeAttempts {
		return r.EndNotice(k, owner, NoticeFailed, fmt.Sprintf("%s (gave up after %d tries)", problem, n.Attempts+1), "", now)
	}
	c := r.Clone()
	n.State, n.Owner, n.Until = NoticeDue, "", time.Time{}
	n.Attempts++
	n.Detail, n.NotBefore, n.UpdatedAt = problem, now.Add(wait), now
	c.Notices[k] = n
	return c, nil, nil
}

// EndNotice ends notice k, held by owner, in state end (sent,
// undeliverable, failed or uncertain), with detail (the reason it was not
// delivered) and ref (where it was posted), and writes its `notified` event.
func (r Request) EndNotice(k int, owner string, end NoticeState, detail, ref string, now time.Time) (Request, []Event, error) {
	n, err := r.noticeAt(k)
	if err != nil {
		return r, nil, err
	}
	switch {
	case !end.Final():
		return r, nil, fmt.Errorf("end notice: %s is not a final state", end)
	case n.State.Final():
		return r, nil, decisionErr(ErrDuplicate, "notice %d of request %s is %s already", k, r.ID, n.State)
	case n.Owner != owner:
		return r, nil, fmt.Errorf("notice %d of request %s is held by %q: %w", k, r.ID, n.Owner, ErrLeaseLost)
	case n.Target < 0 || n.Target >= len(r.Targets):
		return r, nil, fmt.Errorf("notice %d of request %s names no target", k, r.ID)
	}
	c := r.Clone()
	n.State, n.Detail, n.Ref, n.Owner, n.Until, n.UpdatedAt = end, detail, ref, "", time.Time{}, now
	c.Notices[k] = n
	c.UpdatedAt = now
	ref2 := c.Targets[n.Target].Ref()
	ev := c.event(EventNotified, BotActor, now)
	ev.Target = &ref2
	ev.Detail = n.describe()
	return c, []Event{ev}, nil
}

// describe is the `notified` event's detail: to whom, and how it ended.
func (n Notice) describe() string {
	who := map[NoticeTo]string{
		NoticeTarget: "the user", NoticeManager: "their manager", NoticeSecurity: "the security channel",
		NoticeReporter: "the user who reported it",
	}[n.To]
	if who == "" {
		who = string(n.To)
	}
	if n.Recipient != "" && n.To != NoticeSecurity {
		who += " <@" + n.Recipient + ">"
	}
	switch n.State {
	case NoticeSent:
		return "notice sent to " + who
	case NoticeUncertain:
		return "notice to " + who + " uncertain: " + n.Detail
	}
	return "notice to " + who + " not delivered: " + n.Detail
}
