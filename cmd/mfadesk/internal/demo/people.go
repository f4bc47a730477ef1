package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/dryrun"
)

// Person is one simulated colleague: a Slack user and, under the same email,
// a directory user.
type Person struct {
	SlackID string
	Name    string // first name, as the page shows them
	Handle  string // Slack username, typed as @handle
	Title   string // what they do, shown in the person switcher
	Email   string
	// DirectoryID is the directory's ID for them.
	DirectoryID string
	// Manager is the Slack ID of their manager in the directory.
	Manager string
	// Admin is true when they hold an admin role in the directory.
	Admin bool
	// Factors are the MFA methods registered in the directory.
	Factors []string
}

// The channels of the demo workspace.
const (
	ChannelHelpdesk  = "C0HELPDESK"
	ChannelApprovals = "C0APPROVALS"
	ChannelSecurity  = "C0SECURITY"
	ChannelAudit     = "C0AUDIT"
)

// Channel is a channel in the sidebar.
type Channel struct{ ID, Name, Topic string }

// Channels are the workspace's channels, in sidebar order.
var Channels = []Channel{
	{ChannelHelpdesk, "helpdesk", "Where the helpdesk types /mfa"},
	{ChannelApprovals, "mfa-approvals", "Approval requests: Approve or Deny (MFADESK_APPROVAL_CHANNEL)"},
	{ChannelSecurity, "security", "Security alerts (MFADESK_SECURITY_CHANNEL)"},
	{ChannelAudit, "mfa-audit", "The weekly audit digest (MFADESK_AUDIT_CHANNEL)"},
}

// People are the demo's colleagues. Their Slack IDs are the ones the demo's
// policy names.
var People = []Person{
	{SlackID: "U0HELEN", Name: "Helen", Handle: "helen", Title: "Helpdesk agent", Email: "helen@example.com",
		Manager: "U0GRACE", Factors: []string{"Okta Verify", "SMS"}},
	{SlackID: "U0ADA", Name: "Ada", Handle: "ada", Title: "Authentication administrator", Email: "ada@example.com",
		Manager: "U0GRACE", Admin: true, Factors: []string{"Okta Verify", "FIDO2 key"}},
	{SlackID: "U0ALAN", Name: "Alan", Handle: "alan", Title: "Authentication administrator", Email: "alan@example.com",
		Manager: "U0GRACE", Admin: true, Factors: []string{"Okta Verify"}},
	{SlackID: "U0GRACE", Name: "Grace", Handle: "grace", Title: "Global administrator", Email: "grace@example.com",
		Admin: true, Factors: []string{"FIDO2 key", "Okta Verify"}},
	{SlackID: "U0BOB", Name: "Bob", Handle: "bob", Title: "Sales (manager: Mark)", Email: "bob@example.com",
		Manager: "U0MARK", Factors: []string{"Okta Verify", "SMS"}},
	{SlackID: "U0CAROL", Name: "Carol", Handle: "carol", Title: "Finance (manager: Mark)", Email: "carol@example.com",
		Manager: "U0MARK", Factors: []string{"SMS"}},
	{SlackID: "U0MARK", Name: "Mark", Handle: "mark", Title: "Sales and finance manager", Email: "mark@example.com",
		Manager: "U0GRACE", Factors: []string{"Okta Verify"}},
	{SlackID: "U0PRIYA", Name: "Priya", Handle: "priya", Title: "Cloud administrator (holds an admin role)", Email: "priya@example.com",
		Manager: "U0GRACE", Admin: true, Factors: []string{"Okta Verify", "FIDO2 key"}},
	{SlackID: "U0SAM", Name: "Sam", Handle: "sam", Title: "Security analyst, watches #security", Email: "sam@example.com",
		Manager: "U0GRACE", Factors: []string{"Okta Verify"}},
}

func init() {
	for i := range People {
		People[i].DirectoryID = "00u" + strings.ToUpper(People[i].Handle)
	}
}

// PersonByID returns the person with Slack ID id.
func PersonByID(id string) (Person, bool) {
	for _, p := range People {
		if p.SlackID == id {
			return p, true
		}
	}
	return Person{}, false
}

// UserState is what the directory holds about one user now.
type UserState struct {
	Person
	Blocked         bool
	PasswordResetAt time.Time
	SessionsRevoked time.Time
	Log             []string // what was done to them, oldest first
}

// Directory is the demo's in-memory identity provider: the people above,
// their managers, admin roles and factors. It acts like a real directory
// (a reset makes a temporary password, a re-registration removes the
// factors, a block blocks) but on memory only. Safe for concurrent use.
type Directory struct {
	mu     sync.Mutex
	users  map[string]*UserState // by directory ID
	pushes []*Push
	now    func() time.Time
	onPush func() // called when a push reaches a phone
}

var _ actions.Directory = (*Directory)(nil)

// NewDirectory returns the directory with every person in People.
func NewDirectory() *Directory {
	d := &Directory{users: map[string]*UserState{}, now: time.Now}
	for _, p := range People {
		p.Factors = slices.Clone(p.Factors)
		d.users[p.DirectoryID] = &UserState{Person: p}
	}
	return d
}

// Name is "demo".
func (d *Directory) Name() string { return "demo" }

// Supports says every action is automated but delete-app-passwords, a
// tracked manual step as on Microsoft Entra ID.
func (d *Directory) Supports(a actions.Action) actions.Support { return entraLike.Supports(a) }

// entraLike answers Supports as the dry-run directory does, like Entra ID.
var entraLike = dryrun.New(dryrun.Options{})

// ManualSteps are the demo's portal steps.
func (d *Directory) ManualSteps(a actions.Action) string {
	return fmt.Sprintf("1. Open the demo directory's admin console (there is none: this is a demo).\n2. Carry out %q for each target: %s.\n3. Mark this step done, or failed with a note.", a, a.Effect())
}

// ResolveUser finds a person by email; an unknown email wraps
// actions.ErrUnknownUser.
func (d *Directory) ResolveUser(ctx context.Context, email string) (actions.DirectoryUser, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, u := range d.users {
		if strings.EqualFold(u.Email, strings.TrimSpace(email)) {
			return actions.DirectoryUser{ID: u.DirectoryID, Email: u.Email, DisplayName: u.Name}, nil
		}
	}
	return actions.DirectoryUser{}, fmt.Errorf("demo directory: %q: %w", email, actions.ErrUnknownUser)
}

// IsPrivileged reports whether the user holds an admin role.
func (d *Directory) IsPrivileged(ctx context.Context, userID string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, err := d.user(userID)
	if err != nil {
		return false, err
	}
	return u.Admin, nil
}

// user is the user with directory ID userID; an unknown one wraps
// actions.ErrUnknownUser. d.mu must be held.
func (d *Directory) user(userID string) (*UserState, error) {
	u, ok := d.users[userID]
	if !ok {
		return nil, fmt.Errorf("demo directory: user %q: %w", userID, actions.ErrUnknownUser)
	}
	return u, nil
}

// Manager returns the user's manager; one with none wraps
// actions.ErrNoManager.
func (d *Directory) Manager(ctx context.Context, userID string) (actions.DirectoryUser, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, err := d.user(userID)
	if err != nil {
		return actions.DirectoryUser{}, err
	}
	for _, m := range d.users {
		if m.SlackID == u.Manager && u.Manager != "" && !m.Blocked {
			return actions.DirectoryUser{ID: m.DirectoryID, Email: m.Email, DisplayName: m.Name}, nil
		}
	}
	return actions.DirectoryUser{}, fmt.Errorf("demo directory: %s: %w", u.Email, actions.ErrNoManager)
}

// Perform does a to the target in memory.
func (d *Directory) Perform(ctx context.Context, a actions.Action, t actions.Target) (actions.Performed, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[t.DirectoryID]
	if !ok {
		return actions.Performed{}, &actions.DirectoryError{Op: string(a), Status: 404, Code: "E0000007", Message: "Not found: " + t.DirectoryID}
	}
	now := d.now()
	var p actions.Performed
	switch a {
	case actions.ResetPassword:
		u.PasswordResetAt = now
		p = actions.Performed{Outcome: actions.OutcomeOK, Detail: "temporary password set; must change at next sign-in",
			Secret: actions.NewSecret("Temporary password", password(16), "They must change it at next sign-in.")}
	case actions.IssueTemporaryAccessPass:
		p = actions.Performed{Outcome: actions.OutcomeOK, Detail: "Temporary Access Pass issued, valid 1 hour",
			Secret: actions.NewSecret("Temporary Access Pass", password(12), "Valid for 1 hour, once.")}
	case actions.RequireReregisterMFA:
		if len(u.Factors) == 0 {
			p = actions.Performed{Outcome: actions.OutcomeSkipped, Detail: "no MFA method to remove"}
			break
		}
		p = actions.Performed{Outcome: actions.OutcomeOK, Detail: "removed " + strings.Join(u.Factors, ", ")}
		u.Factors = nil
	case actions.RevokeMFASessions:
		u.SessionsRevoked = now
		p = actions.Performed{Outcome: actions.OutcomeOK, Detail: "signed out of every session; remembered devices forgotten"}
	case actions.BlockSignIn, actions.UnblockSignIn:
		want := a == actions.BlockSignIn
		if u.Blocked == want {
			p = actions.Performed{Outcome: actions.OutcomeSkipped, Detail: "already " + map[bool]string{true: "blocked", false: "unblocked"}[want]}
			break
		}
		u.Blocked = want
		p = actions.Performed{Outcome: actions.OutcomeOK, Detail: map[bool]string{true: "sign-in blocked", false: "sign-in unblocked"}[want]}
	default:
		return actions.Performed{}, fmt.Errorf("demo directory: %s: %w", a, actions.ErrUnsupported)
	}
	d.log(u, a.Title()+": "+p.Detail)
	return p, nil
}

// Users returns the directory's users as they stand, in People's order.
func (d *Directory) Users() []UserState {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]UserState, 0, len(People))
	for _, p := range People {
		u := *d.users[p.DirectoryID]
		u.Factors, u.Log = slices.Clone(u.Factors), slices.Clone(u.Log)
		out = append(out, u)
	}
	return out
}

const passwordChars = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// password returns n random characters from crypto/rand.
func password(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = passwordChars[randInt(len(passwordChars))]
	}
	return string(b)
}
