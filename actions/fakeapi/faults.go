package fakeapi

import (
	"net/http"
	"strings"
	"sync"
)

// Fault is one entry of a failure-injection table: the next Times requests
// that match it are answered with Status and the service's error Code and
// Message instead of being served. What a request is matched on (a "METHOD
// path" line, a Web API method name) is the fake's choice; so is the body
// the answer carries.
type Fault struct {
	// Match is what a request's key must equal (Faults.Take) or contain
	// (Faults.TakeContained).
	Match string
	// Status is the HTTP status of the answer.
	Status int
	// Code and Message are the service's error code and message.
	Code, Message string
	// RetryAfter is the Retry-After header the answer carries; "" for none.
	RetryAfter string
	// Header holds further headers; they replace the fake's own.
	Header http.Header
	// Times is how many requests the fault answers; one that is 0 or less
	// answers none.
	Times int
}

// WriteHeaders sets the fault's headers on h: Header's, then Retry-After
// when the fault has one.
func (f Fault) WriteHeaders(h http.Header) {
	for k, vs := range f.Header {
		h[k] = vs
	}
	if f.RetryAfter != "" {
		h.Set("Retry-After", f.RetryAfter)
	}
}

// Faults is a failure-injection table, oldest entry first. Its zero value is
// empty and ready; it is safe for concurrent use.
type Faults struct {
	mu     sync.Mutex
	faults []*Fault
}

// Add appends fs to the table.
func (t *Faults) Add(fs ...Fault) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range fs {
		t.faults = append(t.faults, &f)
	}
}

// Take spends one use of the oldest fault whose Match equals keys[0], or if
// there is none keys[1], and so on (a fault for one path before a fault for
// its template), and returns it. It reports false when no fault matches.
func (t *Faults) Take(keys ...string) (Fault, bool) {
	for _, k := range keys {
		if f, ok := t.take(func(m string) bool { return m == k }); ok {
			return f, true
		}
	}
	return Fault{}, false
}

// TakeContained spends one use of the oldest fault whose Match line
// contains, and returns it. It reports false when no fault matches.
func (t *Faults) TakeContained(line string) (Fault, bool) {
	return t.take(func(m string) bool { return strings.Contains(line, m) })
}

func (t *Faults) take(match func(string) bool) (Fault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range t.faults {
		if f.Times > 0 && match(f.Match) {
			f.Times--
			return *f, true
		}
	}
	return Fault{}, false
}
