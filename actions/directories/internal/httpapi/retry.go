package httpapi

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

// RetryPolicy bounds the tries of one directory call that is throttled or
// fails transiently. It is the only place mfadesk retries a directory: the
// executor and the service call the directory once and take what it returns
// as final (README, "Retries").
type RetryPolicy struct {
	// Attempts is the most tries in all, the first included.
	Attempts int
	// Base is the first backoff; it doubles each try, with jitter.
	Base time.Duration
	// Max caps one wait, including a server's Retry-After.
	Max time.Duration
}

// DefaultRetry is the policy of every directory unless its Config names
// another.
var DefaultRetry = RetryPolicy{Attempts: 6, Base: 500 * time.Millisecond, Max: 60 * time.Second}

// OrDefault is p, or DefaultRetry when p is the zero value.
func (p RetryPolicy) OrDefault() RetryPolicy {
	if p == (RetryPolicy{}) {
		return DefaultRetry
	}
	return p
}

// Check returns an error unless p makes at least one try and has positive
// waits.
func (p RetryPolicy) Check() error {
	if p.Attempts < 1 || p.Base <= 0 || p.Max <= 0 {
		return fmt.Errorf("retry policy needs attempts >= 1 and positive base and max, got %+v", p)
	}
	return nil
}

// Retryable reports whether err is worth another try, and the wait the
// server asked for (0 when it named none): a *actions.DirectoryError whose
// Retryable method says so.
func Retryable(err error) (bool, time.Duration) {
	var de *actions.DirectoryError
	if errors.As(err, &de) {
		return de.Retryable(), de.RetryAfter
	}
	return false, 0
}

// Wait returns the pause before try number attempt+1 (attempt is 1 after
// the first try), honouring a server's Retry-After up to Max.
func (p RetryPolicy) Wait(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, p.Max)
	}
	d := p.Base << (attempt - 1)
	if d <= 0 || d > p.Max {
		d = p.Max
	}
	// Full jitter on the upper half: spread retries of many workers apart.
	return d/2 + rand.N(d/2+1)
}

// Throttled reports whether an HTTP status says the provider is overloaded
// (429, 503, 504): the Pacer shrinks its limit on those.
func Throttled(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// ThrottledErr reports whether err is a *actions.DirectoryError with a
// Throttled status.
func ThrottledErr(err error) bool {
	var de *actions.DirectoryError
	return errors.As(err, &de) && Throttled(de.Status)
}
