package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

const userSelect = "id,userPrincipalName,mail,displayName"

type graphUser struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
	DisplayName       string `json:"displayName"`
}

func (u graphUser) directoryUser() actions.DirectoryUser {
	email := u.Mail
	if email == "" {
		email = u.UserPrincipalName
	}
	return actions.DirectoryUser{ID: u.ID, Email: email, DisplayName: u.DisplayName}
}

// ResolveUser finds the user whose user principal name is email, or else
// the one user whose mail is email. It returns an error wrapping
// actions.ErrUnknownUser when there is none, an error naming the count when
// several users share that mail, and a *actions.DirectoryError when Graph
// fails.
func (d *Directory) ResolveUser(ctx context.Context, email string) (actions.DirectoryUser, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return actions.DirectoryUser{}, fmt.Errorf("resolve user: empty email: %w", actions.ErrUnknownUser)
	}
	var u graphUser
	_, err := d.do(ctx, call{op: "get user", method: http.MethodGet, path: userPath(email), query: query{"$select": userSelect}, out: &u})
	if err == nil {
		if u.ID == "" {
			return actions.DirectoryUser{}, fmt.Errorf("resolve user %s: Graph returned a user without an id", email)
		}
		return u.directoryUser(), nil
	}
	var de *actions.DirectoryError
	if !errors.As(err, &de) || (de.Status != http.StatusNotFound && de.Status != http.StatusBadRequest) {
		return actions.DirectoryUser{}, fmt.Errorf("resolve user %s: %w", email, err)
	}
	// Not a user principal name (404), or not one Graph can address as a
	// key (400): look the address up as a mail.
	var found []graphUser
	q := query{"$filter": "mail eq " + odataString(email), "$select": userSelect}
	err = d.list(ctx, "find user by mail", "/users", q, func(raw json.RawMessage) error {
		var u graphUser
		if err := json.Unmarshal(raw, &u); err != nil {
			return fmt.Errorf("decode user: %w", err)
		}
		found = append(found, u)
		return nil
	})
	switch {
	case err != nil:
		return actions.DirectoryUser{}, fmt.Errorf("resolve user %s: %w", email, err)
	case len(found) == 0:
		return actions.DirectoryUser{}, fmt.Errorf("resolve user %s: no user has that sign-in name or mail: %w", email, actions.ErrUnknownUser)
	case len(found) > 1:
		return actions.DirectoryUser{}, fmt.Errorf("resolve user %s: %d users have that mail; use the sign-in name", email, len(found))
	}
	return found[0].directoryUser(), nil
}

// managerObject is the directoryObject Graph answers for a user's manager:
// a user, or, in hybrid tenants, an orgContact.
type managerObject struct {
	Type string `json:"@odata.type"`
	graphUser
}

// Manager reads the user's manager (GET /users/{id}/manager). Graph answers
// 404 when none is set: that, and a manager that is not a user (an
// orgContact, who has no account to confirm with), wrap
// actions.ErrNoManager. Other failures are *actions.DirectoryError.
func (d *Directory) Manager(ctx context.Context, userID string) (actions.DirectoryUser, error) {
	if userID == "" {
		return actions.DirectoryUser{}, errors.New("manager: empty user id")
	}
	var m managerObject
	_, err := d.do(ctx, call{op: "get manager", method: http.MethodGet,
		path: userPath(userID) + "/manager", query: query{"$select": userSelect}, out: &m})
	switch {
	case httpapi.HasStatus(err, http.StatusNotFound):
		return actions.DirectoryUser{}, fmt.Errorf("manager of %s: none set: %w", userID, actions.ErrNoManager)
	case err != nil:
		return actions.DirectoryUser{}, fmt.Errorf("manager of %s: %w", userID, err)
	case m.Type != "" && m.Type != "#microsoft.graph.user":
		return actions.DirectoryUser{}, fmt.Errorf("manager of %s is a %s, not a user: %w", userID, strings.TrimPrefix(m.Type, "#microsoft.graph."), actions.ErrNoManager)
	case m.ID == "":
		return actions.DirectoryUser{}, fmt.Errorf("manager of %s: Graph returned a manager without an id", userID)
	}
	return m.graphUser.directoryUser(), nil
}
