package httpapi

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
)

func TestPerformers(t *testing.T) {
	var got []string
	p := Performers{actions.BlockSignIn: func(_ context.Context, id string) (actions.Performed, error) {
		got = append(got, id)
		return actions.Performed{Outcome: actions.OutcomeOK, Detail: "blocked"}, nil
	}}
	tests := []struct {
		name    string
		action  actions.Action
		id      string
		wantErr string
		wantIs  error
		wantIDs []string
	}{
		{"dispatched with the ID trimmed", actions.BlockSignIn, " 00u1 ", "", nil, []string{"00u1"}},
		{"not performed", actions.IssueTemporaryAccessPass, "00u1", "okta: issue-temporary-access-pass", actions.ErrUnsupported, nil},
		{"no directory ID", actions.BlockSignIn, "  ", "okta: block-sign-in: target bob@example.com has no directory user ID", nil, nil},
	}
	for _, tt := range tests {
		got = nil
		perf, err := p.Perform(context.Background(), "okta", tt.action, actions.Target{DirectoryID: tt.id, Email: "bob@example.com"})
		switch {
		case tt.wantErr == "" && (err != nil || perf.Detail != "blocked"):
			t.Errorf("%s: Perform = %+v, %v", tt.name, perf, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		case tt.wantIs != nil && !errors.Is(err, tt.wantIs):
			t.Errorf("%s: err = %v, want it to wrap %v", tt.name, err, tt.wantIs)
		case strings.Join(got, ",") != strings.Join(tt.wantIDs, ","):
			t.Errorf("%s: called with %q, want %q", tt.name, got, tt.wantIDs)
		}
	}
	if p.Supports(actions.BlockSignIn) != actions.Automated || p.Supports(actions.ResetPassword) != actions.Unsupported {
		t.Error("Supports does not follow the map")
	}
}

func TestWithRequestID(t *testing.T) {
	tests := []struct{ detail, id, want string }{
		{"user suspended", "req-1", "user suspended (request-id req-1)"},
		{"user suspended", "", "user suspended"},
	}
	for _, tt := range tests {
		if got := WithRequestID(tt.detail, tt.id); got != tt.want {
			t.Errorf("WithRequestID(%q, %q) = %q, want %q", tt.detail, tt.id, got, tt.want)
		}
	}
}
