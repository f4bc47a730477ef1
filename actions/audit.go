package actions

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// EventKind names what an audit event records: the export's `event` field
// (docs/reference.md, Audit events and export).
type EventKind string

// The audit event kinds.
const (
	EventCreated      EventKind = "created"
	EventApproved     EventKind = "approved"
	EventDenied       EventKind = "denied"
	EventRefused      EventKind = "refused"
	EventExpired      EventKind = "expired"
	EventCancelled    EventKind = "cancelled"
	EventStarted      EventKind = "started"
	EventTargetResult EventKind = "target_result"
	EventManualDone   EventKind = "manual_done"
	EventManualFailed EventKind = "manual_failed"
	EventCompleted    EventKind = "completed"
	// EventNotified: a notice about one target ended: sent, or not
	// delivered and why (see Notice).
	EventNotified EventKind = "notified"
	// EventReportedNotMe: the target of a request said "This wasn't me".
	EventReportedNotMe EventKind = "reported_not_me"
	// EventDuplicateCall notes that the directory was called for a target
	// whose one result another executor records (or recorded): it follows a
	// lease taken over from an executor that had lost the database (README,
	// "Database outages"). It carries that call's outcome and detail.
	EventDuplicateCall EventKind = "duplicate_call"
)

// BotActor is the actor of events the bot causes itself.
const BotActor = "mfadesk"

// Event is one append-only audit record. Seq, PrevHash and Hash are set when
// it is appended to the chain (see Seal); everything else by whoever caused it.
type Event struct {
	Seq       int64       `json:"seq"`
	Time      time.Time   `json:"time"`
	RequestID string      `json:"request_id"`
	Kind      EventKind   `json:"event"`
	Actor     string      `json:"actor"`
	Action    Action      `json:"action"`
	Targets   []TargetRef `json:"targets,omitempty"`
	Target    *TargetRef  `json:"target,omitempty"`
	// Method is how a target was verified, on the verification events:
	// "target", "manager" or "push".
	Method   string `json:"method,omitempty"`
	Outcome  string `json:"outcome,omitempty"`
	Detail   string `json:"detail,omitempty"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// EventTimePrecision is the resolution of event times. Both databases keep
// microseconds, so times are cut to that before they are hashed.
const EventTimePrecision = time.Microsecond

// ComputeHash returns the hex SHA-256 of e's prev_hash and every other field
// but Hash, in a fixed canonical JSON form (see appendHashInput).
func (e Event) ComputeHash() string {
	sum := e.sum()
	return hex.EncodeToString(sum[:])
}

// HashMatches reports whether e.Hash is e's hash, as ComputeHash() ==
// e.Hash does, without allocating: `audit verify` asks it of every event.
func (e *Event) HashMatches() bool {
	sum := e.sum()
	var digits [2 * sha256.Size]byte
	hex.Encode(digits[:], sum[:])
	return string(digits[:]) == e.Hash
}

// sum is the SHA-256 of e's canonical form.
func (e *Event) sum() [sha256.Size]byte {
	buf := hashBufs.Get().(*[]byte)
	b := appendHashInput((*buf)[:0], e)
	sum := sha256.Sum256(b)
	*buf = b
	hashBufs.Put(buf)
	return sum
}

// Seal places e after the event (prevSeq, prevHash) in the chain: it sets
// Seq, PrevHash and Hash, and normalises Time and text. For the first event
// prevSeq is 0 and prevHash "".
//
// Text is made valid UTF-8 without NUL (each bad byte and NUL becomes
// U+FFFD): both databases can store it, and an exported event, read back,
// hashes to the same value (invalid bytes would not survive a JSON round
// trip).
func (e *Event) Seal(prevSeq int64, prevHash string) {
	e.Seq = prevSeq + 1
	e.PrevHash = prevHash
	e.Time = e.Time.UTC().Truncate(EventTimePrecision)
	for _, f := range []*string{&e.RequestID, &e.Actor, &e.Method, &e.Outcome, &e.Detail} {
		*f = cleanText(*f)
	}
	e.Kind, e.Action = EventKind(cleanText(string(e.Kind))), Action(cleanText(string(e.Action)))
	if len(e.Targets) > 0 {
		e.Targets = slices.Clone(e.Targets)
		for i := range e.Targets {
			e.Targets[i] = e.Targets[i].clean()
		}
	}
	if e.Target != nil {
		t := e.Target.clean()
		e.Target = &t
	}
	e.Hash = e.ComputeHash()
}

// CleanText returns s as valid UTF-8 with no NUL: each invalid byte and
// each NUL becomes U+FFFD. Every string from outside (Slack text, directory
// answers and errors) passes through it before it is stored.
func CleanText(s string) string { return cleanText(s) }

func cleanText(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func (t TargetRef) clean() TargetRef {
	return TargetRef{SlackID: cleanText(t.SlackID), Email: cleanText(t.Email), DirectoryID: cleanText(t.DirectoryID)}
}

// ChainVerifier checks an audit chain one event at a time, oldest first.
type ChainVerifier struct {
	n        int64
	prevHash string
}

// ChainError names the first event at which the chain is broken.
type ChainError struct {
	Seq    int64 // the stored seq of the offending event (or where one is missing)
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit chain broken at event %d: %s", e.Seq, e.Reason)
}

// The reasons a ChainError gives.
const (
	errEdited = "hash does not match the event's content: the event was edited"
	errLinked = "prev_hash does not match the previous event: events were reordered, or the previous one was changed"
)

// Next checks e, the next event read in seq order. It returns a *ChainError at
// the first event that was edited, deleted, inserted or moved.
func (v *ChainVerifier) Next(e Event) error {
	want, prev := v.n, v.prevHash
	if err := v.link(e); err != nil {
		return err
	}
	if !e.HashMatches() {
		v.n, v.prevHash = want, prev
		return &ChainError{Seq: e.Seq, Reason: errEdited}
	}
	return nil
}

// link checks e's place in the chain (its seq and prev_hash) but not its
// own hash, and moves on to it.
func (v *ChainVerifier) link(e Event) *ChainError {
	want := v.n + 1
	switch {
	case e.Seq != want:
		return &ChainError{Seq: want, Reason: fmt.Sprintf("expected event %d, found %d: an event was deleted, inserted or renumbered", want, e.Seq)}
	case e.PrevHash != v.prevHash:
		return &ChainError{Seq: e.Seq, Reason: errLinked}
	}
	v.n, v.prevHash = e.Seq, e.Hash
	return nil
}

// Count is how many events have checked out so far.
func (v *ChainVerifier) Count() int64 { return v.n }

// Head is the hash of the last event checked, "" before the first.
func (v *ChainVerifier) Head() string { return v.prevHash }

// FinalStates are the states no transition leaves, in a fixed order.
func FinalStates() []State {
	return []State{StateSucceeded, StatePartiallyFailed, StateFailed, StateDenied, StateExpired, StateCancelled}
}

// ClosingEvent is the audit event that ends a request in the final state s:
// `completed` for a request that ran, else the decision that ended it. It
// is "" for a state that is not final. Every request in a final state has
// its `created` event and its closing event in the log.
func ClosingEvent(s State) EventKind {
	switch s {
	case StateSucceeded, StatePartiallyFailed, StateFailed:
		return EventCompleted
	case StateDenied:
		return EventDenied
	case StateExpired:
		return EventExpired
	case StateCancelled:
		return EventCancelled
	}
	return ""
}
