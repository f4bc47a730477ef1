package okta

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// Okta user statuses this package acts on.
const (
	statusSuspended     = "SUSPENDED"
	statusDeprovisioned = "DEPROVISIONED"
)

// user is the part of Okta's User this package reads.
type user struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Profile struct {
		Login       string `json:"login"`
		Email       string `json:"email"`
		FirstName   string `json:"firstName"`
		LastName    string `json:"lastName"`
		DisplayName string `json:"displayName"`
		// ManagerID is the manager's user ID; Manager is, as Okta documents
		// it, the manager's display name, though many orgs (and directory
		// imports) put the manager's login there.
		ManagerID string `json:"managerId"`
		Manager   string `json:"manager"`
	} `json:"profile"`
}

func (u user) directoryUser() actions.DirectoryUser {
	name := u.Profile.DisplayName
	if name == "" {
		name = strings.TrimSpace(u.Profile.FirstName + " " + u.Profile.LastName)
	}
	email := u.Profile.Email
	if email == "" {
		email = u.Profile.Login
	}
	return actions.DirectoryUser{ID: u.ID, Email: email, DisplayName: name}
}

// roleAssignment is the part of a role assignment (StandardRole or
// CustomRole) this package reads.
type roleAssignment struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	Label          string `json:"label"`
	AssignmentType string `json:"assignmentType"`
}

// getUser reads a user by ID or login.
func (d *Directory) getUser(ctx context.Context, idOrLogin string) (user, error) {
	var u user
	_, err := d.api.Do(ctx, httpapi.Request{
		Op: "get user", Method: http.MethodGet, Path: httpapi.Path("api", "v1", "users", idOrLogin),
	}, &u)
	return u, err
}

// ResolveUser finds the Okta user whose login is email (GET
// /api/v1/users/{login}) or, failing that, the one user whose profile.email
// is email (a search). Deactivated (DEPROVISIONED) users do not count. It
// returns an error wrapping actions.ErrUnknownUser when there is none, and a
// plain error when several users share the email.
func (d *Directory) ResolveUser(ctx context.Context, email string) (actions.DirectoryUser, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return actions.DirectoryUser{}, fmt.Errorf("okta: empty email: %w", actions.ErrUnknownUser)
	}
	// A login with a "/" can only be fetched by ID; go straight to search.
	if !strings.Contains(email, "/") {
		u, err := d.getUser(ctx, email)
		switch {
		case err == nil && u.Status != statusDeprovisioned:
			return u.directoryUser(), nil
		case err != nil && !httpapi.HasStatus(err, http.StatusNotFound):
			return actions.DirectoryUser{}, fmt.Errorf("okta: resolve %s: %w", email, err)
		}
	}
	var found []user
	_, err := d.api.Do(ctx, httpapi.Request{
		Op: "search users", Method: http.MethodGet, Path: "/api/v1/users",
		Query: url.Values{"search": {`profile.email eq ` + quote(email)}, "limit": {"10"}},
	}, &found)
	if err != nil {
		return actions.DirectoryUser{}, fmt.Errorf("okta: resolve %s: %w", email, err)
	}
	live := found[:0]
	for _, u := range found {
		if u.Status != statusDeprovisioned {
			live = append(live, u)
		}
	}
	switch len(live) {
	case 0:
		return actions.DirectoryUser{}, fmt.Errorf("okta: no active user with login or email %s: %w", email, actions.ErrUnknownUser)
	case 1:
		return live[0].directoryUser(), nil
	}
	return actions.DirectoryUser{}, fmt.Errorf("okta: %d users have the email %s: ambiguous, use a unique login", len(live), email)
}

// quote makes s a string literal of Okta's search syntax: in double quotes,
// with backslashes and double quotes escaped.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// roles lists the user's admin role assignments, direct and through groups.
func (d *Directory) roles(ctx context.Context, userID string) ([]roleAssignment, error) {
	var rs []roleAssignment
	_, err := d.api.Do(ctx, httpapi.Request{
		Op: "list role assignments", Method: http.MethodGet, Path: httpapi.Path("api", "v1", "users", userID, "roles"),
	}, &rs)
	return rs, err
}

// IsPrivileged reports whether the user holds any admin role in Okta (every
// Okta role, standard or custom, is an admin role).
func (d *Directory) IsPrivileged(ctx context.Context, userID string) (bool, error) {
	rs, err := d.roles(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("okta: role assignments of %s: %w", userID, err)
	}
	return len(rs) > 0, nil
}

// Manager reads the user and then its manager: by profile.managerId, or else
// by profile.manager when that holds a login (an email; a bare display name
// cannot be looked up reliably). No manager, one Okta does not know (404) and
// one who is not active (suspended, deprovisioned…) wrap
// actions.ErrNoManager.
func (d *Directory) Manager(ctx context.Context, userID string) (actions.DirectoryUser, error) {
	if userID == "" {
		return actions.DirectoryUser{}, fmt.Errorf("okta: manager: empty user id")
	}
	u, err := d.getUser(ctx, userID)
	if err != nil {
		return actions.DirectoryUser{}, fmt.Errorf("okta: manager of %s: %w", userID, err)
	}
	key := strings.TrimSpace(u.Profile.ManagerID)
	if key == "" {
		if m := strings.TrimSpace(u.Profile.Manager); strings.Contains(m, "@") && !strings.Contains(m, "/") {
			key = m
		}
	}
	if key == "" {
		return actions.DirectoryUser{}, fmt.Errorf("okta: %s has no profile.managerId, nor a login in profile.manager: %w", u.Profile.Login, actions.ErrNoManager)
	}
	m, err := d.getUser(ctx, key)
	switch {
	case httpapi.HasStatus(err, http.StatusNotFound):
		return actions.DirectoryUser{}, fmt.Errorf("okta: manager %s of %s is not a user: %w", key, u.Profile.Login, actions.ErrNoManager)
	case err != nil:
		return actions.DirectoryUser{}, fmt.Errorf("okta: manager %s of %s: %w", key, u.Profile.Login, err)
	case m.Status != "ACTIVE" && m.Status != "PASSWORD_EXPIRED" && m.Status != "RECOVERY" && m.Status != "LOCKED_OUT":
		return actions.DirectoryUser{}, fmt.Errorf("okta: manager %s of %s is %s: %w", m.Profile.Login, u.Profile.Login, m.Status, actions.ErrNoManager)
	}
	return m.directoryUser(), nil
}
