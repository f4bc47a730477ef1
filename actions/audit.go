package actions

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
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

// hashedEvent fixes the field order of what the hash covers: every field of
// the event but the hash itself.
type hashedEvent struct {
	PrevHash  string      `json:"prev_hash"`
	Seq       int64       `json:"seq"`
	Time      string      `json:"time"`
	RequestID string      `json:"request_id"`
	Kind      EventKind   `json:"event"`
	Actor     string      `json:"actor"`
	Action    Action      `json:"action"`
	Targets   []TargetRef `json:"targets"`
	Target    *TargetRef  `json:"target"`
	// Method is left out when empty, so that events from before it existed
	// keep their hashes.
	Method  string `json:"method,omitempty"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
}

// ComputeHash returns the hex SHA-256 of e's prev_hash and every other field
// but Hash, in a fixed canonical JSON form.
func (e Event) ComputeHash() string {
	targets := e.Targets
	if len(targets) == 0 {
		targets = nil
	}
	b, err := json.Marshal(hashedEvent{
		PrevHash: e.PrevHash, Seq: e.Seq, Time: e.Time.UTC().Truncate(EventTimePrecision).Format(time.RFC3339Nano),
		RequestID: e.RequestID, Kind: e.Kind, Actor: e.Actor, Action: e.Action,
		Targets: targets, Target: e.Target, Method: e.Method, Outcome: e.Outcome, Detail: e.Detail,
	})
	if err != nil {
		panic("marshal audit event: " + err.Error()) // only plain strings: cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Seal places e after the event (prevSeq, prevHash) in the chain: it sets
// Seq, PrevHash and Hash, and normalises Time. For the first event prevSeq is
// 0 and prevHash "".
func (e *Event) Seal(prevSeq int64, prevHash string) {
	e.Seq = prevSeq + 1
	e.PrevHash = prevHash
	e.Time = e.Time.UTC().Truncate(EventTimePrecision)
	e.Hash = e.ComputeHash()
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

// Next checks e, the next event read in seq order. It returns a *ChainError at
// the first event that was edited, deleted, inserted or moved.
func (v *ChainVerifier) Next(e Event) error {
	want := v.n + 1
	switch {
	case e.Seq != want:
		return &ChainError{Seq: want, Reason: fmt.Sprintf("expected event %d, found %d: an event was deleted, inserted or renumbered", want, e.Seq)}
	case e.PrevHash != v.prevHash:
		return &ChainError{Seq: e.Seq, Reason: "prev_hash does not match the previous event: events were reordered, or the previous one was changed"}
	case e.ComputeHash() != e.Hash:
		return &ChainError{Seq: e.Seq, Reason: "hash does not match the event's content: the event was edited"}
	}
	v.n, v.prevHash = e.Seq, e.Hash
	return nil
}

// Count is how many events have checked out so far.
func (v *ChainVerifier) Count() int64 { return v.n }

// Head is the hash of the last event checked, "" before the first.
func (v *ChainVerifier) Head() string { return v.prevHash }
