package digest

import (
	"context"
	"time"
)

// Rules decide what a digest lists and what deserves a look. The zero value
// of a field means its default.
type Rules struct {
	// Limit is how many items a list shows before "and N more" (10).
	Limit int
	// DominantShare and DominantMin flag a requester–approver pair that
	// gave at least DominantShare of the period's approvals (0.5), and at
	// least DominantMin of them (5): two people who may be rubber-stamping
	// each other.
	DominantShare float64
	DominantMin   int
	// ManyTargets flags requests with at least this many targets (10).
	ManyTargets int
	// RepeatedTarget flags users targeted by at least this many requests
	// made in the period (3).
	RepeatedTarget int
	// FirstLookback is how far back the first digest reaches when no digest
	// came before it (7 days); never before the first audit event.
	FirstLookback time.Duration
}

// WithDefaults returns r with every zero field set to its default.
func (r Rules) WithDefaults() Rules {
	if r.Limit <= 0 {
		r.Limit = 10
	}
	if r.DominantShare <= 0 {
		r.DominantShare = 0.5
	}
	if r.DominantMin <= 0 {
		r.DominantMin = 5
	}
	if r.ManyTargets <= 0 {
		r.ManyTargets = 10
	}
	if r.RepeatedTarget <= 0 {
		r.RepeatedTarget = 3
	}
	if r.FirstLookback <= 0 {
		r.FirstLookback = 7 * 24 * time.Hour
	}
	return r
}

// Query asks a Source for the facts of one period.
type Query struct {
	Period Period
	// Hours decide which activity is out of hours, and in which location
	// days begin (Daily).
	Hours BusinessHours
	// Limit, ManyTargets and RepeatedTarget are Rules' (with defaults).
	Limit          int
	ManyTargets    int
	RepeatedTarget int
}

// Source computes a digest's facts, aggregating in the database rather than
// reading events one by one.
type Source interface {
	// DigestFacts returns the facts of q.Period as of one snapshot: every
	// field of Digest but Dominant and Rules. Lists are cut to q.Limit
	// items, with their totals. It fails only when the database cannot be
	// read.
	DigestFacts(ctx context.Context, q Query) (Digest, error)
	// FirstEventTime is the time of the first audit event, the zero time
	// when there is none.
	FirstEventTime(ctx context.Context) (time.Time, error)
}

// Query returns the query for period p under these rules.
func (r Rules) Query(p Period, h BusinessHours) Query {
	r = r.WithDefaults()
	return Query{Period: p, Hours: h, Limit: r.Limit, ManyTargets: r.ManyTargets, RepeatedTarget: r.RepeatedTarget}
}

// Assess adds to d what its facts alone do not say: which requester–approver
// pairs dominate the period's approvals. It records the rules in d.
func (r Rules) Assess(d *Digest) {
	r = r.WithDefaults()
	d.Rules = r
	d.Dominant = nil
	for _, p := range d.Pairs {
		if p.Count >= r.DominantMin && float64(p.Count) >= r.DominantShare*float64(d.Approvals) {
			d.Dominant = append(d.Dominant, p)
		}
	}
}
