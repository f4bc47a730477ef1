package digest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseBusinessHours(t *testing.T) {
	days := func(ds ...time.Weekday) (out [7]bool) {
		for _, d := range ds {
			out[d] = true
		}
		return out
	}
	mon, tue, wed, thu, fri, sat, sun := time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday
	for _, c := range []struct {
		in         string
		open, shut time.Duration
		days       [7]bool
		str        string // String(), when not in
		err        bool
	}{
		{in: "UTC 08:00-18:00 Mon-Fri", open: 8 * time.Hour, shut: 18 * time.Hour, days: days(mon, tue, wed, thu, fri)},
		{in: "Europe/Berlin 07:30-24:00 Sun-Thu", open: 7*time.Hour + 30*time.Minute, shut: 24 * time.Hour,
			days: days(sun, mon, tue, wed, thu), str: "Europe/Berlin 07:30-24:00 Mon-Thu,Sun"},
		{in: "UTC 00:00-06:00 Fri-Mon", shut: 6 * time.Hour, days: days(fri, sat, sun, mon), str: "UTC 00:00-06:00 Mon,Fri-Sun"},
		{in: "UTC 09:00-17:00 monday,Wed,fri", open: 9 * time.Hour, shut: 17 * time.Hour, days: days(mon, wed, fri), str: "UTC 09:00-17:00 Mon,Wed,Fri"},
		{in: "  UTC   09:00-17:00   Sat  ", open: 9 * time.Hour, shut: 17 * time.Hour, days: days(sat), str: "UTC 09:00-17:00 Sat"},
		{in: "UTC 08:00-18:00", err: true},
		{in: "Mars/Olympus 08:00-18:00 Mon-Fri", err: true},
		{in: "UTC 18:00-08:00 Mon-Fri", err: true},
		{in: "UTC 8:00-18:00 Mon-Fri", err: true},
		{in: "UTC 08:00-24:30 Mon-Fri", err: true},
		{in: "UTC 08:00-18:00 Mon-Fry", err: true},
		{in: "UTC 08:00 Mon-Fri", err: true},
	} {
		h, err := ParseBusinessHours(c.in)
		if c.err {
			if err == nil {
				t.Errorf("%q: no error", c.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if h.Open != c.open || h.Close != c.shut || h.Days != c.days {
			t.Errorf("%q: got %s %s %v", c.in, h.Open, h.Close, h.Days)
		}
		want := c.str
		if want == "" {
			want = c.in
		}
		if h.String() != want {
			t.Errorf("%q: String() = %q, want %q", c.in, h.String(), want)
		}
		if again, err := ParseBusinessHours(h.String()); err != nil || again.Days != h.Days || again.Open != h.Open {
			t.Errorf("%q: String() does not parse back: %v", c.in, err)
		}
	}
}

func TestBusinessHoursContains(t *testing.T) {
	h, err := ParseBusinessHours("Europe/Berlin 08:00-18:00 Mon-Fri")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		t    time.Time
		want bool
	}{
		{time.Date(2025, 3, 28, 7, 0, 0, 0, time.UTC), true},                  // Fri 08:00 CET
		{time.Date(2025, 3, 28, 6, 59, 59, 0, time.UTC), false},               // Fri 07:59:59 CET
		{time.Date(2025, 3, 28, 17, 0, 0, 0, time.UTC), false},                // Fri 18:00 CET
		{time.Date(2025, 3, 31, 6, 0, 0, 0, time.UTC), true},                  // Mon 08:00 CEST
		{time.Date(2025, 3, 31, 16, 0, 0, 0, time.UTC), false},                // Mon 18:00 CEST
		{time.Date(2025, 3, 29, 12, 0, 0, 0, time.UTC), false},                // Saturday
		{time.Date(2025, 3, 30, 23, 0, 0, 0, time.UTC), false},                // Mon 01:00 CEST
		{time.Date(2025, 3, 31, 15, 59, 59, 999999999, time.UTC), true},       // Mon 17:59:59.999 CEST
		{time.Date(2025, 3, 31, 8, 0, 0, 0, time.FixedZone("X", 3600)), true}, // any zone in
	} {
		if got := h.Contains(c.t); got != c.want {
			t.Errorf("Contains(%s) = %v, want %v", c.t.In(h.Loc()), got, c.want)
		}
	}
}

func TestSpans(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	change := time.Date(2025, 3, 30, 1, 0, 0, 0, time.UTC)
	p := Period{Start: time.Date(2025, 3, 24, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 4, 7, 0, 0, 0, 0, time.UTC)}
	got := BusinessHours{Location: berlin}.Spans(p)
	want := []Span{{Start: p.Start, End: change, Offset: time.Hour}, {Start: change, End: p.End, Offset: 2 * time.Hour}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spans over a change to summer time (-want +got):\n%s", diff)
	}
	if got := (BusinessHours{}).Spans(p); len(got) != 1 || got[0] != (Span{Start: p.Start, End: p.End}) {
		t.Errorf("UTC spans: %v", got)
	}
	// Within each span, UTC plus the offset is the wall clock.
	for _, sp := range got {
		for tm := sp.Start; tm.Before(sp.End); tm = tm.Add(7 * time.Hour) {
			wall := tm.Add(sp.Offset).UTC()
			l := tm.In(berlin)
			if wall.Hour() != l.Hour() || wall.Day() != l.Day() {
				t.Fatalf("%s: wall clock %s, want %s", tm, wall, l)
			}
		}
	}
}

func TestSchedulePrev(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, c := range []struct {
		spec, now, want string
	}{
		{DefaultSchedule, "2025-03-12T15:00:00Z", "2025-03-10T09:00:00Z"},
		{DefaultSchedule, "2025-03-10T09:00:00Z", "2025-03-10T09:00:00Z"}, // a tick is its own last tick
		{DefaultSchedule, "2025-03-10T08:59:59Z", "2025-03-03T09:00:00Z"},
		{"CRON_TZ=Europe/Berlin 0 9 * * 1", "2025-04-01T00:00:00Z", "2025-03-31T07:00:00Z"}, // CEST
		{"CRON_TZ=Europe/Berlin 0 9 * * 1", "2025-03-30T00:00:00Z", "2025-03-24T08:00:00Z"}, // CET
		{"@daily", "2025-03-12T15:00:00Z", "2025-03-12T00:00:00Z"},
		{"*/5 * * * *", "2025-03-12T15:04:59Z", "2025-03-12T15:00:00Z"},
		{"0 0 1 1 *", "2025-03-12T15:00:00Z", "2025-01-01T00:00:00Z"},
		{"0 0 29 2 *", "2025-03-12T15:00:00Z", "2024-02-29T00:00:00Z"},
		{"@every 1h", "2025-03-12T15:04:59Z", "2025-03-12T15:00:00Z"},
	} {
		s, err := ParseSchedule(c.spec)
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		got := s.Prev(at(c.now))
		if !got.Equal(at(c.want)) {
			t.Errorf("%s: Prev(%s) = %s, want %s", c.spec, c.now, got.UTC(), c.want)
		}
		if next := s.Next(got); !next.After(at(c.now)) {
			t.Errorf("%s: the tick after Prev(%s) is %s, not after it", c.spec, c.now, next.UTC())
		}
	}
	if _, err := ParseSchedule("every monday"); err == nil {
		t.Error("a malformed spec parses")
	}
}

func TestAssess(t *testing.T) {
	for _, c := range []struct {
		name      string
		approvals int
		pairs     []Pair
		want      []Pair
	}{
		{"dominant", 7, []Pair{{"A", "B", 5}, {"C", "D", 2}}, []Pair{{"A", "B", 5}}},
		{"exactly half", 10, []Pair{{"A", "B", 5}, {"C", "D", 5}}, []Pair{{"A", "B", 5}, {"C", "D", 5}}},
		{"too few to tell", 4, []Pair{{"A", "B", 4}}, nil},
		{"spread out", 20, []Pair{{"A", "B", 9}, {"C", "D", 6}}, nil},
	} {
		d := Digest{Approvals: c.approvals, Pairs: c.pairs}
		Rules{}.Assess(&d)
		if diff := cmp.Diff(c.want, d.Dominant); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
		if d.Rules.DominantMin != 5 || d.Rules.ManyTargets != 10 || d.Rules.RepeatedTarget != 3 {
			t.Errorf("%s: default rules not recorded: %+v", c.name, d.Rules)
		}
	}
}
