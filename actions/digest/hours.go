package digest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultBusinessHours is MFADESK_BUSINESS_HOURS's default.
const DefaultBusinessHours = "UTC 08:00-18:00 Mon-Fri"

// BusinessHours are the hours in which admin actions are expected: a time
// zone, a daily opening and closing time (wall clock), and the days of the
// week they apply to.
type BusinessHours struct {
	// Location is the time zone; nil means UTC.
	Location *time.Location
	// Open and Close are wall-clock times since midnight, Open < Close
	// <= 24h. Open is inside business hours, Close is not.
	Open, Close time.Duration
	// Days is indexed by time.Weekday.
	Days [7]bool
}

var dayNames = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// ParseBusinessHours reads "TZ HH:MM-HH:MM DAYS" such as
// "Europe/Berlin 08:00-18:00 Mon-Fri": an IANA time zone (or UTC), the
// opening and closing times (closing may be 24:00, and must be after
// opening), and the days: a day, a range of days, which may run over the
// weekend ("Sun-Thu", "Fri-Mon"), or a comma-separated list of those
// ("Mon-Thu,Sat"). Day names are English, three letters or full, any case.
func ParseBusinessHours(s string) (BusinessHours, error) {
	fields := strings.Fields(s)
	if len(fields) != 3 {
		return BusinessHours{}, fmt.Errorf("want \"TZ HH:MM-HH:MM Day-Day\", such as %q", DefaultBusinessHours)
	}
	var h BusinessHours
	loc, err := time.LoadLocation(fields[0])
	if err != nil {
		return BusinessHours{}, fmt.Errorf("unknown time zone %q: want an IANA name such as UTC or Europe/Berlin", fields[0])
	}
	h.Location = loc
	open, close, ok := strings.Cut(fields[1], "-")
	if !ok {
		return BusinessHours{}, fmt.Errorf("hours %q: want HH:MM-HH:MM", fields[1])
	}
	if h.Open, err = clock(open); err != nil {
		return BusinessHours{}, err
	}
	if h.Close, err = clock(close); err != nil {
		return BusinessHours{}, err
	}
	if h.Open >= h.Close {
		return BusinessHours{}, fmt.Errorf("hours %q: closing must be after opening, on the same day", fields[1])
	}
	for item := range strings.SplitSeq(fields[2], ",") {
		from, to, isRange := strings.Cut(item, "-")
		a, err := weekday(from)
		if err != nil {
			return BusinessHours{}, err
		}
		b := a
		if isRange {
			if b, err = weekday(to); err != nil {
				return BusinessHours{}, err
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			h.Days[d] = true
			if d == b {
				break
			}
		}
	}
	return h, nil
}

// clock reads HH:MM, 00:00 to 24:00.
func clock(s string) (time.Duration, error) {
	hh, mm, ok := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || len(hh) != 2 || len(mm) != 2 || err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("time %q: want HH:MM from 00:00 to 24:00", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

func weekday(s string) (time.Weekday, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for i, n := range dayNames {
		n = strings.ToLower(n)
		if s == n || (len(s) > 3 && strings.HasPrefix(s, n) && strings.HasPrefix(strings.ToLower(time.Weekday(i).String()), s)) {
			return time.Weekday(i), nil
		}
	}
	return 0, fmt.Errorf("day %q: want Mon, Tue, Wed, Thu, Fri, Sat or Sun", s)
}

// Loc is the location, UTC when none is set.
func (h BusinessHours) Loc() *time.Location {
	if h.Location == nil {
		return time.UTC
	}
	return h.Location
}

// Contains reports whether t is inside business hours.
func (h BusinessHours) Contains(t time.Time) bool {
	l := t.In(h.Loc())
	if !h.Days[l.Weekday()] {
		return false
	}
	tod := time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute +
		time.Duration(l.Second())*time.Second + time.Duration(l.Nanosecond())
	return tod >= h.Open && tod < h.Close
}

// String writes h in the form ParseBusinessHours reads.
func (h BusinessHours) String() string {
	var days []string
	for i := 0; i < 7; i++ {
		d := (i + 1) % 7 // Monday first
		if !h.Days[d] {
			continue
		}
		j := i
		for j+1 < 7 && h.Days[(j+2)%7] {
			j++
		}
		if j == i {
			days = append(days, dayNames[d])
		} else {
			days = append(days, dayNames[d]+"-"+dayNames[(j+1)%7])
		}
		i = j
	}
	hm := func(d time.Duration) string { return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60) }
	return fmt.Sprintf("%s %s-%s %s", h.Loc(), hm(h.Open), hm(h.Close), strings.Join(days, ","))
}

// Span is a part of a period in which the location's offset from UTC does
// not change, so that wall-clock time is UTC time plus Offset.
type Span struct {
	Start, End time.Time
	Offset     time.Duration
}

// Spans cuts p at every change of the location's UTC offset (daylight saving
// time), so that a database can tell days and business hours apart with
// integer arithmetic: within a span, the wall clock is the UTC time plus the
// span's offset. A zone without changes gives one span.
func (h BusinessHours) Spans(p Period) []Span {
	loc := h.Loc()
	var out []Span
	for t := p.Start; t.Before(p.End); {
		local := t.In(loc)
		_, off := local.Zone()
		_, end := local.ZoneBounds()
		if end.IsZero() || end.After(p.End) {
			end = p.End
		}
		if !end.After(t) { // cannot happen; never loop forever
			end = p.End
		}
		s := Span{Start: t, End: end, Offset: time.Duration(off) * time.Second}
		if n := len(out); n > 0 && out[n-1].Offset == s.Offset {
			out[n-1].End = end
		} else {
			out = append(out, s)
		}
		t = end
	}
	return out
}
