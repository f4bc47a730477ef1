package digest

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// DefaultSchedule is MFADESK_DIGEST_SCHEDULE's default: Mondays at 09:00 UTC.
const DefaultSchedule = "CRON_TZ=UTC 0 9 * * 1"

// maxLookBack bounds the search for a schedule's previous tick. cron gives
// up on specs that never match within five years; so does Prev.
const maxLookBack = 5 * 366 * 24 * time.Hour

// Schedule is a digest schedule: its ticks end digest periods. Every replica
// computes the same ticks from the same spec, which is what lets them agree
// on a period.
type Schedule struct {
	spec  string
	sched cron.Schedule
}

// ParseSchedule reads a robfig/cron spec as MFADESK_DIGEST_SCHEDULE holds it:
// five fields or a descriptor (@weekly, @every 24h), with an optional
// CRON_TZ=Zone prefix. "@every D" ticks at multiples of D since the zero
// time, not D after the process started, so that replicas agree on them.
func ParseSchedule(spec string) (Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return Schedule{}, fmt.Errorf("schedule %q: %w", spec, err)
	}
	if e, ok := s.(cron.ConstantDelaySchedule); ok {
		s = every{d: e.Delay}
	}
	return Schedule{spec: spec, sched: s}, nil
}

// String is the spec the schedule was parsed from.
func (s Schedule) String() string { return s.spec }

// Cron is the schedule to give cron.Cron.Schedule.
func (s Schedule) Cron() cron.Schedule { return s.sched }

// Next is the first tick after t; the zero time when there is none within
// five years.
func (s Schedule) Next(t time.Time) time.Time { return s.sched.Next(t) }

// Prev is the last tick at or before t; the zero time when there is none
// within five years. cron schedules only answer Next, so Prev looks back
// ever further until a tick turns up, then walks forward to the last one.
func (s Schedule) Prev(t time.Time) time.Time {
	if e, ok := s.sched.(every); ok {
		return t.Truncate(e.d)
	}
	for back := time.Minute; back <= 2*maxLookBack; back *= 2 {
		n := s.sched.Next(t.Add(-back))
		if n.IsZero() {
			return time.Time{}
		}
		if n.After(t) {
			continue
		}
		for {
			m := s.sched.Next(n)
			if m.IsZero() || m.After(t) {
				return n
			}
			n = m
		}
	}
	return time.Time{}
}

// every ticks at the multiples of d (at least a second) since the zero
// time.
type every struct{ d time.Duration }

func (e every) Next(t time.Time) time.Time { return t.Truncate(e.d).Add(e.d) }
