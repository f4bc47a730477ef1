package okta

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
	"github.com/mfadesk/mfadesk/actions/directories/okta/fakeokta"
)

// TestPush sends a number matching push and polls its transaction until
// the user's answer, against the fake org (which refuses any path, query
// parameter or body property the Okta OpenAPI description lacks).
func TestPush(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		want         actions.PushOutcome
	}{
		{"approved", "SUCCESS", actions.PushApproved},
		{"rejected", "REJECTED", actions.PushRejected},
		{"timed out", "TIMEOUT", actions.PushTimedOut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, f, _ := setup(t)
			f.AddUser(fakeokta.User{ID: "00ueve", Login: "eve@example.com", Email: "eve@example.com",
				Factors: []string{"sms", "push"}, Push: tc.answer, PushPolls: 2})
			ctx := context.Background()
			ch, err := d.StartPush(ctx, "00ueve")
			if err != nil {
				t.Fatal(err)
			}
			if ch.Number < 10 || ch.Number > 99 || ch.TransactionID == "" || ch.Handle != "fac1/"+ch.TransactionID {
				t.Fatalf("challenge %+v, want a two-digit number and factor fac1's transaction", ch)
			}
			var got []actions.PushOutcome
			for range 3 {
				st, err := d.PushResult(ctx, "00ueve", actions.PushChallenge{Handle: ch.Handle})
				if err != nil {
					t.Fatal(err)
				}
				if st.TransactionID != ch.TransactionID {
					t.Errorf("transaction %q, want %q", st.TransactionID, ch.TransactionID)
				}
				got = append(got, st.Outcome)
			}
			want := []actions.PushOutcome{actions.PushWaiting, actions.PushWaiting, tc.want}
			if strings.Join(outcomes(got), ",") != strings.Join(outcomes(want), ",") {
				t.Errorf("outcomes %v, want %v", got, want)
			}
			calls := f.Calls()
			wantCalls := []string{
				"GET /api/v1/users/00ueve/factors",
				"POST /api/v1/users/00ueve/factors/fac1/verify",
				"GET /api/v1/users/00ueve/factors/fac1/transactions/" + ch.TransactionID,
			}
			for i, w := range wantCalls {
				if i >= len(calls) || calls[i] != w {
					t.Fatalf("calls %q, want them to start %q", calls, wantCalls)
				}
			}
		})
	}
}

func outcomes(os []actions.PushOutcome) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = string(o)
	}
	return out
}

func TestPushNoFactor(t *testing.T) {
	d, f, _ := setup(t)
	f.AddUser(fakeokta.User{ID: "00ueve", Login: "eve@example.com", Factors: []string{"sms", "token:software:totp"}})
	_, err := d.StartPush(context.Background(), "00ueve")
	if !errors.Is(err, actions.ErrNoPushFactor) {
		t.Fatalf("err = %v, want ErrNoPushFactor", err)
	}
	if _, err := d.PushResult(context.Background(), "00ueve", actions.PushChallenge{Handle: "fac0/v2mstnone"}); !httpapi.HasStatus(err, http.StatusNotFound) {
		t.Errorf("poll of an unknown transaction: %v, want 404", err)
	}
}

// TestPushRateLimited: a poll that Okta throttles waits for
// X-Rate-Limit-Reset and tries again.
func TestPushRateLimited(t *testing.T) {
	d, f, rec := setup(t)
	f.AddUser(fakeokta.User{ID: "00ueve", Login: "eve@example.com", Factors: []string{"push"}, Push: "SUCCESS"})
	ch, err := d.StartPush(context.Background(), "00ueve")
	if err != nil {
		t.Fatal(err)
	}
	f.SetResetIn(20 * time.Second)
	f.FailNext("GET /api/v1/users/{userId}/factors/{factorId}/transactions/{transactionId}", fakeokta.Failure{
		Status: http.StatusTooManyRequests, Code: "E0000047", Detail: "API call exceeded rate limit due to too many requests.",
		Header: http.Header{"X-Rate-Limit-Remaining": {"0"}}})
	st, err := d.PushResult(context.Background(), "00ueve", ch)
	if err != nil || st.Outcome != actions.PushApproved {
		t.Fatalf("PushResult = %+v, %v; want approved after the wait", st, err)
	}
	if sl := rec.All(); len(sl) != 1 || sl[0] < 18*time.Second {
		t.Errorf("waits %v, want one of about 20s (until X-Rate-Limit-Reset)", sl)
	}
}

// TestPushSentOnce: a push verify is not tried again after an answer that
// says Okta may have sent the push (a 5xx other than 503), since a second try
// sends the user a second push with another number; after 429 or 503, which
// say the request was not processed, it is.
func TestPushSentOnce(t *testing.T) {
	const verify = "POST /api/v1/users/{userId}/factors/{factorId}/verify"
	tests := []struct {
		name    string
		failure fakeokta.Failure
		wantErr bool
	}{
		{"500 after sending", fakeokta.Failure{Status: 500, Code: "E0000009", Detail: "Internal Server Error", Done: true}, true},
		{"502 after sending", fakeokta.Failure{Status: 502, Code: "E0000009", Detail: "Bad Gateway", Done: true}, true},
		{"504 after sending", fakeokta.Failure{Status: 504, Code: "E0000009", Detail: "Gateway Timeout", Done: true}, true},
		{"429", fakeokta.Failure{Status: 429, Code: "E0000047", Detail: "API call exceeded rate limit due to too many requests.",
			Header: http.Header{"Retry-After": {"1"}}}, false},
		{"503", fakeokta.Failure{Status: 503, Code: "E0000009", Detail: "Service Unavailable"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, f, _ := setup(t)
			f.AddUser(fakeokta.User{ID: "00ueve", Login: "eve@example.com", Factors: []string{"push"}, Push: "SUCCESS"})
			f.FailNext(verify, tt.failure)
			_, err := d.StartPush(context.Background(), "00ueve")
			if (err != nil) != tt.wantErr {
				t.Fatalf("StartPush: %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr && !httpapi.HasStatus(err, tt.failure.Status) {
				t.Errorf("StartPush: %v, want Okta's %d", err, tt.failure.Status)
			}
			if p := f.Pushes(); len(p) != 1 {
				t.Errorf("pushes sent %q, want exactly one", p)
			}
		})
	}
}
