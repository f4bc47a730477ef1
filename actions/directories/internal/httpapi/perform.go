package httpapi

import (
	"context"
	"fmt"
	"strings"

	"github.com/mfadesk/mfadesk/actions"
)

// Performers maps each action an adapter automates to what does it on one
// user, given the user's directory ID. It is the dispatch that every
// adapter's Perform and Supports share.
type Performers map[actions.Action]func(ctx context.Context, userID string) (actions.Performed, error)

// Supports is Automated for an action p performs and Unsupported otherwise.
func (p Performers) Supports(a actions.Action) actions.Support {
	if _, ok := p[a]; ok {
		return actions.Automated
	}
	return actions.Unsupported
}

// Perform does a on the user t.DirectoryID (spaces trimmed) as p says.
// An action p does not perform fails with an error wrapping
// actions.ErrUnsupported, a target without a directory ID with an error
// naming the target; directory names the adapter in both ("okta").
func (p Performers) Perform(ctx context.Context, directory string, a actions.Action, t actions.Target) (actions.Performed, error) {
	do, ok := p[a]
	if !ok {
		return actions.Performed{}, fmt.Errorf("%s: %s: %w", directory, a, actions.ErrUnsupported)
	}
	id := strings.TrimSpace(t.DirectoryID)
	if id == "" {
		return actions.Performed{}, fmt.Errorf("%s: %s: target %s has no directory user ID", directory, a, t.Email)
	}
	return do(ctx, id)
}

// WithRequestID appends the provider's request ID to the detail of an
// action's result, when there is one: "… (request-id ID)".
func WithRequestID(detail, requestID string) string {
	if requestID == "" {
		return detail
	}
	return detail + " (request-id " + requestID + ")"
}
