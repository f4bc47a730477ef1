package google

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// cacheTTL is how long a user read by ResolveUser answers IsPrivileged.
const cacheTTL = time.Minute

// maxCached bounds the cache; past it, the cache starts over.
const maxCached = 1000

// user is the part of the Directory API's User resource this package reads.
type user struct {
	ID           string `json:"id"`
	PrimaryEmail string `json:"primaryEmail"`
	Name         struct {
		FullName string `json:"fullName"`
	} `json:"name"`
	IsAdmin          bool   `json:"isAdmin"`
	IsDelegatedAdmin bool   `json:"isDelegatedAdmin"`
	Suspended        bool   `json:"suspended"`
	SuspensionReason string `json:"suspensionReason"`
	IsEnrolledIn2Sv  bool   `json:"isEnrolledIn2Sv"`
	IsEnforcedIn2Sv  bool   `json:"isEnforcedIn2Sv"`
	// Relations are the user's relationships to other users; the one of
	// type "manager" names the manager by email.
	Relations []struct {
		Value string `json:"value"`
		Type  string `json:"type"`
	} `json:"relations"`
}

type cached struct {
	u   user
	exp time.Time
}

// getUser reads a user by user key (ID, primary email or alias) and
// remembers it briefly.
func (d *Directory) getUser(ctx context.Context, key string) (user, error) {
	var u user
	_, err := d.api.Do(ctx, httpapi.Request{
		Op: "users.get", Method: http.MethodGet, Path: httpapi.Path("users", key),
	}, &u)
	if err != nil {
		return user{}, err
	}
	d.mu.Lock()
	if len(d.cache) >= maxCached {
		d.cache = map[string]cached{}
	}
	d.cache[u.ID] = cached{u: u, exp: d.now().Add(cacheTTL)}
	d.mu.Unlock()
	return u, nil
}

// ResolveUser finds the user whose primary or alias email is email (users.get
// with the email as user key). It returns an error wrapping
// actions.ErrUnknownUser when Google has no such user.
func (d *Directory) ResolveUser(ctx context.Context, email string) (actions.DirectoryUser, error) {
	email = strings.TrimSpace(email)
	if email == "" || strings.Contains(email, "/") {
		return actions.DirectoryUser{}, fmt.Errorf("google: %q: %w", email, actions.ErrUnknownUser)
	}
	u, err := d.getUser(ctx, email)
	if httpapi.HasStatus(err, http.StatusNotFound) {
		return actions.DirectoryUser{}, fmt.Errorf("google: no user %s: %w (%w)", email, actions.ErrUnknownUser, err)
	}
	if err != nil {
		return actions.DirectoryUser{}, fmt.Errorf("google: resolve %s: %w", email, err)
	}
	return actions.DirectoryUser{ID: u.ID, Email: u.PrimaryEmail, DisplayName: u.Name.FullName}, nil
}

// IsPrivileged reports whether the user is a super admin (isAdmin) or a
// delegated admin (isDelegatedAdmin). A user read by ResolveUser within the
// last minute is not read again.
func (d *Directory) IsPrivileged(ctx context.Context, userID string) (bool, error) {
	d.mu.Lock()
	c, ok := d.cache[userID]
	d.mu.Unlock()
	if ok && d.now().Before(c.exp) {
		return c.u.IsAdmin || c.u.IsDelegatedAdmin, nil
	}
	u, err := d.getUser(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("google: admin status of %s: %w", userID, err)
	}
	return u.IsAdmin || u.IsDelegatedAdmin, nil
}

// Manager reads the user (users.get) and then the user its relation of type
// "manager" names (by email). No such relation, a manager Google does not
// know (404) and a suspended manager wrap actions.ErrNoManager.
func (d *Directory) Manager(ctx context.Context, userID string) (actions.DirectoryUser, error) {
	if userID == "" {
		return actions.DirectoryUser{}, fmt.Errorf("google: manager: empty user id")
	}
	u, err := d.getUser(ctx, userID)
	if err != nil {
		return actions.DirectoryUser{}, fmt.Errorf("google: manager of %s: %w", userID, err)
	}
	key := ""
	for _, r := range u.Relations {
		if r.Type == "manager" && strings.TrimSpace(r.Value) != "" {
			key = strings.TrimSpace(r.Value)
			break
		}
	}
	if key == "" || strings.Contains(key, "/") {
		return actions.DirectoryUser{}, fmt.Errorf("google: %s has no relation of type manager: %w", u.PrimaryEmail, actions.ErrNoManager)
	}
	m, err := d.getUser(ctx, key)
	switch {
	case httpapi.HasStatus(err, http.StatusNotFound):
		return actions.DirectoryUser{}, fmt.Errorf("google: manager %s of %s is not a user: %w", key, u.PrimaryEmail, actions.ErrNoManager)
	case err != nil:
		return actions.DirectoryUser{}, fmt.Errorf("google: manager %s of %s: %w", key, u.PrimaryEmail, err)
	case m.Suspended:
		return actions.DirectoryUser{}, fmt.Errorf("google: manager %s of %s is suspended: %w", key, u.PrimaryEmail, actions.ErrNoManager)
	}
	return actions.DirectoryUser{ID: m.ID, Email: m.PrimaryEmail, DisplayName: m.Name.FullName}, nil
}
