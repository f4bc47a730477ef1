package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

// HasStatus reports whether err is a *actions.DirectoryError with one of the HTTP
// status codes.
func HasStatus(err error, codes ...int) bool {
	var de *actions.DirectoryError
	if !errors.As(err, &de) {
		return false
	}
	for _, c := range codes {
		if de.Status == c {
			return true
		}
	}
	return false
}

// ParseRetryAfter reads a Retry-After header: seconds or an HTTP date. It
// returns 0 when the header is absent or unreadable.
func ParseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var secs int
	if _, err := fmt.Sscanf(h, "%d", &secs); err == nil && fmt.Sprint(secs) == h {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
