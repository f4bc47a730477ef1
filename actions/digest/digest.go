// Package digest is the domain of mfadesk's audit digest: what auditors read
// every week in Slack. It defines the digest's content (counts per action and
// outcome, who requested and approved, what was denied, expired, cancelled,
// refused or failed, and what deserves a look), the rules that decide what
// deserves a look, business hours, the schedule's ticks, and the ledger
// protocol that posts each period's digest exactly once across replicas.
//
// The numbers are computed by a Source (storage, with SQL aggregation), drawn
// by a Publisher (the Slack adapter, bot/digestview) and recorded in a Ledger
// (storage); Runner ties them together and Scheduler runs it on a cron
// schedule. Nothing here knows Slack or gorm.
package digest

import (
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

// Period is the half-open time range [Start, End) a digest covers.
type Period struct {
	Start time.Time
	End   time.Time
}

// Contains reports whether t falls in the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// Valid reports whether the period is non-empty.
func (p Period) Valid() bool { return !p.Start.IsZero() && p.Start.Before(p.End) }

// Head is the audit chain's head as of a period's end: the last event with a
// time before it. Seq is also how many events the chain had up to there; Hash
// is that event's hash, which `mfadesk audit verify --head` checks is still in
// the chain. Seq 0 and an empty Hash mean no events yet.
type Head struct {
	Seq  int64
	Hash string
}

// List is a list cut to a limit: Items are the first ones in the list's
// order, Total how many there are in all.
type List[T any] struct {
	Items []T
	Total int
}

// More is how many items were left out.
func (l List[T]) More() int { return max(l.Total-len(l.Items), 0) }

// Empty reports whether the list has nothing, shown or not.
func (l List[T]) Empty() bool { return l.Total == 0 && len(l.Items) == 0 }

// ActionCount is what happened to one action in the period.
type ActionCount struct {
	Action actions.Action
	// Requested counts requests made in the period.
	Requested int
	// The final states of requests that ended in the period.
	Succeeded, PartiallyFailed, Failed, Denied, Expired, Cancelled int
	// Approvals counts approvals given, Refused the refused clicks and
	// requests of this action.
	Approvals, Refused int
	// Target outcomes recorded in the period.
	TargetsOK, TargetsFailed, TargetsSkipped int
}

// Ended counts the requests of the action that reached a final state.
func (a ActionCount) Ended() int {
	return a.Succeeded + a.PartiallyFailed + a.Failed + a.Denied + a.Expired + a.Cancelled
}

// Add adds b's counts to a's (the action stays a's).
func (a ActionCount) Add(b ActionCount) ActionCount {
	a.Requested += b.Requested
	a.Succeeded += b.Succeeded
	a.PartiallyFailed += b.PartiallyFailed
	a.Failed += b.Failed
	a.Denied += b.Denied
	a.Expired += b.Expired
	a.Cancelled += b.Cancelled
	a.Approvals += b.Approvals
	a.Refused += b.Refused
	a.TargetsOK += b.TargetsOK
	a.TargetsFailed += b.TargetsFailed
	a.TargetsSkipped += b.TargetsSkipped
	return a
}

// PersonCount is how many requests one person made.
type PersonCount struct {
	SlackID string
	Count   int
}

// ApproverCount is how one approver decided.
type ApproverCount struct {
	SlackID  string
	Approved int
	Denied   int
}

// Closed is a request that was denied, expired or was cancelled in the period.
type Closed struct {
	RequestID string
	Action    actions.Action
	State     actions.State // denied, expired or cancelled
	Requester string        // Slack ID
	// By is who denied or cancelled it; empty for an expiry.
	By string
	// Reason is the request's reason; Note the deny reason or the expiry's
	// account of approvals.
	Reason, Note string
	At           time.Time
}

// Failure is one target whose action failed in the period.
type Failure struct {
	RequestID string
	Action    actions.Action
	Target    actions.TargetRef
	Detail    string
	At        time.Time
}

// Refusal is a click or request the policy did not allow.
type Refusal struct {
	RequestID string // empty for a refused new request
	Action    actions.Action
	Actor     string
	Detail    string
	At        time.Time
}

// Pair is how many approvals one approver gave to one requester's requests.
type Pair struct {
	Requester, Approver string
	Count               int
}

// Activity is something a person did: made, approved, denied or cancelled a
// request, or marked a manual step.
type Activity struct {
	RequestID string
	Kind      actions.EventKind
	Actor     string
	Action    actions.Action
	At        time.Time
}

// Flagged is a request made in the period that is listed for a reason:
// privileged targets, or many targets.
type Flagged struct {
	RequestID  string
	Action     actions.Action
	Requester  string
	State      actions.State
	Targets    int // how many targets; for privileged requests, how many privileged
	CreatedAt  time.Time
	Privileged bool // at least one target held an admin role
}

// Repeated is a user targeted by several requests in the period.
type Repeated struct {
	SlackID  string
	Email    string
	Requests int
}

// OpenManual is a tracked manual step that nobody has marked done or failed
// yet.
type OpenManual struct {
	RequestID string
	Action    actions.Action
	Requester string
	CreatedAt time.Time
	// Since is when it was approved and handed to the approvers (its last
	// change).
	Since time.Time
}

// NotMe is a "This wasn't me" report made in the period and the
// containment it started.
type NotMe struct {
	// RequestID, Action and Requester are the reported request's.
	RequestID string
	Action    actions.Action
	Requester string
	// Reporter is who said it was not them (Slack ID), Target the user.
	Reporter string
	Target   actions.TargetRef
	At       time.Time
	// Steps are the containment requests, in the order they run.
	Steps []ContainStep
}

// ContainStep is one containment request and where it is.
type ContainStep struct {
	RequestID string
	Action    actions.Action
	State     actions.State
}

// DayCount is how many requests of one action were made on one day (the
// calendar day in the business hours' location).
type DayCount struct {
	Day    time.Time // midnight of the day, in the business hours' location
	Action actions.Action
	Count  int
}

// Digest is everything one digest says. A Source fills in the facts for a
// Query; Rules.Assess adds what deserves a look.
type Digest struct {
	Period Period
	// Location is where days, business hours and times are shown.
	Location *time.Location
	// Hours are the business hours the digest was judged by.
	Hours BusinessHours
	// Head is the audit chain's head at Period.End.
	Head Head
	// Events counts the audit events in the period.
	Events int

	// Actions has one entry per action that appears in the period, in the
	// order of actions.AllActions, then others by name.
	Actions    []ActionCount
	Requesters List[PersonCount]   // most requests first
	Approvers  List[ApproverCount] // most decisions first
	Closed     List[Closed]        // latest first
	Failures   List[Failure]       // latest first
	Refused    List[Refusal]       // latest first

	// What deserves a look.
	Approvals   int    // approvals given in the period
	Pairs       []Pair // the requester–approver pairs with most approvals, most first
	Dominant    []Pair // those of Pairs that dominate approvals (Rules.Assess)
	OffHours    List[Activity]
	Privileged  List[Flagged]
	ManyTargets List[Flagged]
	Repeated    List[Repeated]
	OpenManual  List[OpenManual]
	// Reports counts "This wasn't me" reports made in the period, and
	// Containments the containment requests they started; NotMe lists the
	// reports, latest first.
	Reports      int
	Containments int
	NotMe        List[NotMe]
	// Thresholds the lists above were chosen by, for the reader.
	Rules Rules

	// Daily is the number of requests per day and action, for the chart,
	// oldest day first.
	Daily []DayCount
}

// Total adds up the counts of every action.
func (d Digest) Total() ActionCount {
	var t ActionCount
	for _, a := range d.Actions {
		t = t.Add(a)
	}
	return t
}

// NeedsLook reports whether anything deserves a look.
func (d Digest) NeedsLook() bool {
	return len(d.Dominant) > 0 || !d.OffHours.Empty() || !d.Privileged.Empty() || !d.ManyTargets.Empty() ||
		!d.Repeated.Empty() || !d.OpenManual.Empty() || !d.NotMe.Empty()
}

// Quiet reports whether nothing at all happened in the period.
func (d Digest) Quiet() bool { return d.Events == 0 && d.OpenManual.Empty() }
