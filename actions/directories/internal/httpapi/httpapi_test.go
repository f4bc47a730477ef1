package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

func TestCheckBaseURL(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"https://example.okta.com/", "https://example.okta.com", ""},
		{" https://admin.googleapis.com ", "https://admin.googleapis.com", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"http://localhost:1/", "http://localhost:1", ""},
		{"http://example.com", "", "must use https"},
		{"ftp://example.com", "", "must use https"},
		{"example.com", "", "not an absolute URL"},
		{"https://u:p@example.com", "", "no user"},
		{"https://example.com/?a=b", "", "no user, query or fragment"},
	}
	for _, tt := range tests {
		got, err := CheckBaseURL(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CheckBaseURL(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CheckBaseURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestPath(t *testing.T) {
	if got, want := Path("users", "a/b@x.com", "asps", "12"), "/users/a%2Fb@x.com/asps/12"; got != want {
		t.Errorf("Path = %q, want %q", got, want)
	}
}

func client(srv *httptest.Server, timeout time.Duration) *Client {
	return &Client{
		BaseURL: srv.URL, HTTP: srv.Client(), Timeout: timeout,
		Retry: RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond},
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		Decode: func(op string, resp *http.Response, body []byte, _ time.Time) *actions.DirectoryError {
			return &actions.DirectoryError{Op: op, Status: resp.StatusCode, Message: string(body)}
		},
	}
}

// TestAttemptTimeoutIsRetried: an attempt that runs out of its own time is
// retried while the caller's context is alive.
func TestAttemptTimeoutIsRetried(t *testing.T) {
	var n atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			select { // hang until the client gives up on this attempt
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	var out struct{ OK bool }
	res, err := client(srv, 50*time.Millisecond).Do(context.Background(), Request{Op: "get", Method: "GET", Path: "/x"}, &out)
	if err != nil || !out.OK || res.Attempts != 2 {
		t.Fatalf("Do = %+v, %v, %+v", res, err, out)
	}
}

func TestCancelledIsNotRetried(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := client(srv, time.Second).Do(ctx, Request{Op: "get", Method: "GET", Path: "/x"}, nil)
	var de *actions.DirectoryError
	if !errors.As(err, &de) || !errors.Is(err, context.Canceled) || de.Retryable() || res.Attempts != 1 {
		t.Fatalf("Do = %+v, %v", res, err)
	}
}

func TestErrorsAndPacing(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("busy"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	c := client(srv, time.Second)
	c.Retry.Max = time.Minute
	var waits []time.Duration
	c.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	c.Pace = func(resp *http.Response, now time.Time) time.Time { return now.Add(2 * time.Hour) }
	if _, err := c.Do(context.Background(), Request{Op: "post", Method: "POST", Path: "/x", Body: map[string]any{"a": false}}, nil); err != nil {
		t.Fatal(err)
	}
	// 3s from Retry-After, then the pace (capped at Max) before the 2nd try.
	if len(waits) != 2 || waits[0] != 3*time.Second || waits[1] < 59*time.Second || waits[1] > time.Minute {
		t.Fatalf("waits = %v", waits)
	}
}
