// Package dryrun is a directory that changes nothing: it records and logs
// what it would do. It is mfadesk's default directory, so that a new
// installation can be tried end to end without touching real accounts.
package dryrun

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

// Call is one action the directory was asked to perform.
type Call struct {
	Action actions.Action
	UserID string
	At     time.Time
}

// Options shape the simulated directory.
type Options struct {
	// Privileged are emails of users that hold an admin role.
	Privileged []string
	// Unknown are emails the directory does not know.
	Unknown []string
	// Aliases maps an alias address to the primary address of the same user
	// (any case): both resolve to one user, as a Google alias, an Entra mail
	// beside the UPN, or an Okta profile.email beside the login do.
	Aliases map[string]string
	// Managers maps a user's email to their manager's email (any case);
	// a user missing here has no manager.
	Managers map[string]string
	// Push answers a simulated push, by the user's email (any case):
	// actions.PushApproved (the default), PushRejected, PushTimedOut or
	// PushWaiting (never answers). NoPush lists users without a push factor.
	Push   map[string]actions.PushOutcome
	NoPush []string
	// Delay is added to every Perform, to simulate a directory's latency.
	Delay  time.Duration
	Logger *slog.Logger
}

// Directory records what it would do. It mimics Microsoft Entra ID's support:
// delete-app-passwords is a tracked manual step.
type Directory struct {
	opts   Options
	mu     sync.Mutex
	calls  []Call
	pushes int
}

var _ actions.Directory = (*Directory)(nil)

// New returns a dry-run directory.
func New(o Options) *Directory {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Directory{opts: o}
}

// Name is "dryrun".
func (d *Directory) Name() string { return "dryrun" }

// Supports says every action is automated but delete-app-passwords, which is
// manual as on Entra ID.
func (d *Directory) Supports(a actions.Action) actions.Support {
	switch {
	case !a.Valid():
		return actions.Unsupported
	case a == actions.DeleteAppPasswords:
		return actions.Manual
	}
	return actions.Automated
}

// ManualSteps describes the manual step generically.
func (d *Directory) ManualSteps(a actions.Action) string {
	return fmt.Sprintf("Dry run: nothing is changed.\n1. In your identity provider's admin console, open each target user.\n2. Carry out %q: %s.\n3. Mark this step done, or failed with a note.", a, a.Effect())
}

func contains(list []string, email string) bool {
	for _, e := range list {
		if actions.SameEmail(e, email) {
			return true
		}
	}
	return false
}

// ResolveUser knows every email but the Unknown ones; the user ID is
// "dryrun:" followed by the email's actions.EmailKey (a plain ASCII address
// lower-cased, any other as it is), of the primary address for an alias.
func (d *Directory) ResolveUser(ctx context.Context, email string) (actions.DirectoryUser, error) {
	email = strings.TrimSpace(email)
	if email == "" || !strings.Contains(email, "@") || contains(d.opts.Unknown, email) {
		return actions.DirectoryUser{}, fmt.Errorf("dryrun: %q: %w", email, actions.ErrUnknownUser)
	}
	for alias, primary := range d.opts.Aliases {
		if actions.SameEmail(alias, email) {
			email = primary
			break
		}
	}
	return actions.DirectoryUser{ID: "dryrun:" + actions.EmailKey(email), Email: email}, nil
}

// IsPrivileged reports whether the user's email is among Privileged.
func (d *Directory) IsPrivileged(ctx context.Context, userID string) (bool, error) {
	return contains(d.opts.Privileged, strings.TrimPrefix(userID, "dryrun:")), nil
}

// Manager returns the manager Options.Managers names for the user, resolved
// as ResolveUser does; an error wrapping actions.ErrNoManager when it names
// none or an Unknown email.
func (d *Directory) Manager(ctx context.Context, userID string) (actions.DirectoryUser, error) {
	email := strings.TrimPrefix(userID, "dryrun:")
	for k, m := range d.opts.Managers {
		if actions.SameEmail(k, email) {
			u, err := d.ResolveUser(ctx, m)
			if err != nil {
				return actions.DirectoryUser{}, fmt.Errorf("dryrun: manager %s of %s: %w", m, email, actions.ErrNoManager)
			}
			return u, nil
		}
	}
	return actions.DirectoryUser{}, fmt.Errorf("dryrun: %s has no manager: %w", email, actions.ErrNoManager)
}

// Perform records the call and says what would have been done.
func (d *Directory) Perform(ctx context.Context, a actions.Action, t actions.Target) (actions.Performed, error) {
	if d.opts.Delay > 0 {
		if err := actions.SleepContext(ctx, d.opts.Delay); err != nil {
			return actions.Performed{}, err
		}
	}
	if d.Supports(a) != actions.Automated {
		return actions.Performed{}, fmt.Errorf("dryrun: %s: %w", a, actions.ErrUnsupported)
	}
	d.mu.Lock()
	d.calls = append(d.calls, Call{Action: a, UserID: t.DirectoryID, At: time.Now()})
	d.mu.Unlock()
	d.opts.Logger.InfoContext(ctx, "dry run: would perform", "action", a, "directory_id", t.DirectoryID)
	return actions.Performed{Outcome: actions.OutcomeOK, Detail: "dry run: would " + string(a) + " (" + a.Effect() + "); nothing changed"}, nil
}

// Calls returns what was performed so far, in order.
func (d *Directory) Calls() []Call {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Call(nil), d.calls...)
}

var _ actions.PushVerifier = (*Directory)(nil)

// StartPush simulates a number matching push: nothing is sent. The number
// is derived from the push's sequence, the handle names the user.
func (d *Directory) StartPush(ctx context.Context, userID string) (actions.PushChallenge, error) {
	email := strings.TrimPrefix(userID, "dryrun:")
	if contains(d.opts.NoPush, email) {
		return actions.PushChallenge{}, fmt.Errorf("dryrun: %s: %w", email, actions.ErrNoPushFactor)
	}
	d.mu.Lock()
	d.pushes++
	n := d.pushes
	d.mu.Unlock()
	tx := fmt.Sprintf("dryrun-push-%d", n)
	d.opts.Logger.InfoContext(ctx, "dry run: would send a push", "directory_id", userID, "transaction", tx)
	return actions.PushChallenge{Handle: tx, TransactionID: tx, Number: 10 + (n*37)%90}, nil
}

// PushResult answers as Options.Push says for the user; approved by default.
func (d *Directory) PushResult(ctx context.Context, userID string, c actions.PushChallenge) (actions.PushStatus, error) {
	email := strings.TrimPrefix(userID, "dryrun:")
	out := actions.PushApproved
	d.mu.Lock()
	for k, v := range d.opts.Push {
		if actions.SameEmail(k, email) {
			out = v
		}
	}
	d.mu.Unlock()
	return actions.PushStatus{Outcome: out, TransactionID: c.Handle}, nil
}

// AnswerPush sets how the user answers pushes from now on, as if they
// tapped their authenticator (the demo's stand-in for a phone).
func (d *Directory) AnswerPush(email string, o actions.PushOutcome) {
	d.mu.Lock()
	defer d.mu.Unlock()
	push := map[string]actions.PushOutcome{}
	for k, v := range d.opts.Push {
		if !actions.SameEmail(k, email) {
			push[k] = v
		}
	}
	push[email] = o
	d.opts.Push = push
}
