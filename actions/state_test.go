package actions

import (
	"strings"
	"testing"
)

// A decision on a request that has moved on reads as English, for every
// state ("Request R has succeeded already", not "is succeeded already").
func TestStateAlready(t *testing.T) {
	want := map[State]string{
		StatePending: "is pending", StateApproved: "was approved", StateRunning: "is running",
		StateSucceeded: "has succeeded", StatePartiallyFailed: "has partially failed", StateFailed: "has failed",
		StateDenied: "was denied", StateExpired: "has expired", StateCancelled: "was cancelled",
	}
	for s, w := range want {
		if got := s.Already(); got != w {
			t.Errorf("%s: %q, want %q", s, got, w)
		}
	}
	r := pending(withState(StateSucceeded))
	_, _, err := r.Approve(testPolicy(t), auth1, t0)
	if err == nil || !strings.Contains(err.Error(), "request RTEST has succeeded already") {
		t.Errorf("approving a succeeded request: %v", err)
	}
}
