package httpapi

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

func TestRetryPolicyDo(t *testing.T) {
	throttled := &actions.DirectoryError{Op: "x", Status: 429, RetryAfter: 7 * time.Second}
	unavailable := &actions.DirectoryError{Op: "x", Status: 503}
	badRequest := &actions.DirectoryError{Op: "x", Status: 400}
	tests := []struct {
		name      string
		errs      []error // what each try returns; past the end: nil
		wantTries int
		wantErr   error
		wantWaits []time.Duration // exact where the server named a wait; 0 = any backoff
	}{
		{"success", nil, 1, nil, nil},
		{"throttled then ok", []error{throttled}, 2, nil, []time.Duration{7 * time.Second}},
		{"503 twice then ok", []error{unavailable, unavailable}, 3, nil, []time.Duration{0, 0}},
		{"400 not retried", []error{badRequest}, 1, badRequest, nil},
		{"plain error not retried", []error{errors.New("boom")}, 1, nil, nil},
		{"gives up", []error{unavailable, unavailable, unavailable, unavailable}, 4, unavailable, []time.Duration{0, 0, 0}},
		{"long Retry-After capped", []error{&actions.DirectoryError{Status: 429, RetryAfter: time.Hour}}, 2, nil, []time.Duration{10 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := RetryPolicy{Attempts: 4, Base: time.Second, Max: 10 * time.Second}
			var waits []time.Duration
			sleep := func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
			try := 0
			n, err := p.Do(context.Background(), sleep, func(context.Context) error {
				try++
				if try <= len(tt.errs) {
					return tt.errs[try-1]
				}
				return nil
			})
			if n != tt.wantTries {
				t.Errorf("tries = %d, want %d", n, tt.wantTries)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if len(waits) != len(tt.wantWaits) {
				t.Fatalf("waits = %v, want %d", waits, len(tt.wantWaits))
			}
			for i, w := range tt.wantWaits {
				if w != 0 && waits[i] != w {
					t.Errorf("wait %d = %s, want %s", i, waits[i], w)
				}
				if waits[i] <= 0 || waits[i] > p.Max {
					t.Errorf("wait %d = %s out of (0, %s]", i, waits[i], p.Max)
				}
			}
		})
	}
}

func TestRetryStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := RetryPolicy{Attempts: 5, Base: time.Hour, Max: time.Hour}
	n, err := p.Do(ctx, nil, func(context.Context) error { return &actions.DirectoryError{Status: 503} })
	if n != 1 || err == nil {
		t.Errorf("n = %d, err = %v", n, err)
	}
}
