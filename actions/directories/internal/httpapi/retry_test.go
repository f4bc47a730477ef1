package httpapi

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

func TestRetryPolicyWait(t *testing.T) {
	p := RetryPolicy{Attempts: 6, Base: time.Second, Max: 10 * time.Second}
	tests := []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		lo, hi     time.Duration
	}{
		{"Retry-After as asked", 1, 7 * time.Second, 7 * time.Second, 7 * time.Second},
		{"Retry-After capped", 3, time.Hour, 10 * time.Second, 10 * time.Second},
		{"first backoff: half to all of Base", 1, 0, 500 * time.Millisecond, time.Second},
		{"third backoff: 4 Base", 3, 0, 2 * time.Second, 4 * time.Second},
		{"backoff capped", 9, 0, 5 * time.Second, 10 * time.Second},
		{"no overflow", 80, 0, 5 * time.Second, 10 * time.Second},
	}
	for _, tt := range tests {
		for range 20 { // the jitter is random
			if got := p.Wait(tt.attempt, tt.retryAfter); got < tt.lo || got > tt.hi {
				t.Fatalf("%s: Wait(%d, %s) = %s, want in [%s, %s]", tt.name, tt.attempt, tt.retryAfter, got, tt.lo, tt.hi)
			}
		}
	}
}

func TestRetryPolicyDefaultAndCheck(t *testing.T) {
	if got := (RetryPolicy{}).OrDefault(); got != DefaultRetry {
		t.Errorf("zero policy = %+v, want DefaultRetry", got)
	}
	if err := DefaultRetry.Check(); err != nil {
		t.Errorf("DefaultRetry: %v", err)
	}
	for _, p := range []RetryPolicy{
		{Attempts: 0, Base: time.Second, Max: time.Second},
		{Attempts: 1, Base: 0, Max: time.Second},
		{Attempts: 1, Base: time.Second, Max: -1},
	} {
		if err := p.Check(); err == nil {
			t.Errorf("Check(%+v) = nil, want an error", p)
		}
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		err       error
		want      bool
		wantAfter time.Duration
	}{
		{&actions.DirectoryError{Status: 429, RetryAfter: 7 * time.Second}, true, 7 * time.Second},
		{fmt.Errorf("revoke: %w", &actions.DirectoryError{Status: 503}), true, 0},
		{&actions.DirectoryError{Status: 400}, false, 0},
		{&actions.DirectoryError{Err: errors.New("connection reset")}, true, 0},
		{errors.New("get token: refused"), false, 0},
		{nil, false, 0},
	}
	for _, tt := range tests {
		ok, after := Retryable(tt.err)
		if ok != tt.want || after != tt.wantAfter {
			t.Errorf("Retryable(%v) = %v, %s; want %v, %s", tt.err, ok, after, tt.want, tt.wantAfter)
		}
	}
}
