// Package dirtest is test support for the directory adapters' tests
// (actions/directories/entra, google and okta): the checks each of them makes
// of what its adapter answers when run against its fake. The fakes
// themselves share actions/fakeapi.
package dirtest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/fakeapi"
)

// User checks an answer that names a directory user (ResolveUser,
// Manager). When neither errText nor is is set, err must be nil and got must
// be want. Otherwise err must contain errText, be is (errors.Is) when is is
// set and neither actions.ErrUnknownUser nor actions.ErrNoManager when it is
// not, and got must be the zero user.
func User(t testing.TB, got actions.DirectoryUser, err error, want actions.DirectoryUser, errText string, is error) {
	t.Helper()
	switch {
	case errText == "" && is == nil:
		if err != nil {
			t.Fatalf("err = %v, want none", err)
		}
	case err == nil || !strings.Contains(err.Error(), errText):
		t.Fatalf("err = %v, want one containing %q", err, errText)
	case is != nil && !errors.Is(err, is):
		t.Fatalf("err = %v, want %v", err, is)
	case is == nil && (errors.Is(err, actions.ErrUnknownUser) || errors.Is(err, actions.ErrNoManager)):
		t.Fatalf("err = %v, want neither %v nor %v", err, actions.ErrUnknownUser, actions.ErrNoManager)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
}

// Status checks that err is a *actions.DirectoryError with HTTP status, and
// none of the sentinels that say a user or a manager does not exist: a
// refusal, not an absence.
func Status(t testing.TB, err error, status int) {
	t.Helper()
	var de *actions.DirectoryError
	if !errors.As(err, &de) || de.Status != status || errors.Is(err, actions.ErrUnknownUser) || errors.Is(err, actions.ErrNoManager) {
		t.Fatalf("err = %v, want a %d DirectoryError that says nothing of a user's or manager's absence", err, status)
	}
}

// Supporter is the part of actions.Directory that Supports uses.
type Supporter interface {
	Supports(a actions.Action) actions.Support
	ManualSteps(a actions.Action) string
}

// Supports checks d.Supports against want, and that d gives manual steps
// for exactly the actions it supports by hand.
func Supports(t testing.TB, d Supporter, want map[actions.Action]actions.Support) {
	t.Helper()
	for a, s := range want {
		if got := d.Supports(a); got != s {
			t.Errorf("Supports(%s) = %v, want %v", a, got, s)
		}
		if steps := d.ManualSteps(a); (steps != "") != (s == actions.Manual) {
			t.Errorf("ManualSteps(%s) = %q for an action supported %v", a, steps, s)
		}
	}
}

// Checker is the part of actions.Directory that NoProblems uses.
type Checker interface {
	Check(ctx context.Context, enabled []actions.Action) []string
}

// NoProblems checks that d.Check finds nothing wrong with a configuration
// that enables enabled. An action d does not support is no problem of d's:
// mfadesk check reports it, once.
func NoProblems(t testing.TB, d Checker, enabled ...actions.Action) {
	t.Helper()
	if got := d.Check(context.Background(), enabled); len(got) != 0 {
		t.Errorf("Check(%v) = %q, want no problems", enabled, got)
	}
}

// Performer is the part of actions.Directory that SecretsNeverLogged uses.
type Performer interface {
	Perform(ctx context.Context, a actions.Action, t actions.Target) (actions.Performed, error)
}

// SecretsNeverLogged resets the password of the user with directory ID id
// through d, whose logger writes at debug level to log and whose first
// attempt the fake fails with an error d retries. It checks that the log
// has logged (what d logs of the retry), and holds neither the temporary
// password nor any of secrets (called after the reset, for tokens issued
// during it).
func SecretsNeverLogged(t testing.TB, d Performer, id string, log *fakeapi.LockedBuffer, logged string, secrets func() []string) {
	t.Helper()
	p, err := d.Perform(context.Background(), actions.ResetPassword, actions.Target{DirectoryID: id})
	if err != nil || p.Secret == nil {
		t.Fatalf("Perform = %+v, %v; want a temporary password", p, err)
	}
	text := log.String()
	if !strings.Contains(text, logged) {
		t.Errorf("the log lacks %q:\n%s", logged, text)
	}
	fakeapi.NoSecrets(t, "log", text, append(secrets(), p.Secret.Reveal())...)
}
