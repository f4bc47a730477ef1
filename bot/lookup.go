package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
)

// errNoSlackAccount: no active Slack account has that email on its profile
// (Slack answered users_not_found, or the account is deactivated). It wraps
// actions.ErrNoAccount.
var errNoSlackAccount = fmt.Errorf("slack: %w", actions.ErrNoAccount)

// errDeactivated: the Slack account with that email is deactivated. It
// wraps errNoSlackAccount.
var errDeactivated = fmt.Errorf("deactivated: %w", errNoSlackAccount)

// lookupByEmail finds the Slack account of a directory user by the email the
// directory holds for them (users.lookupByEmail), never by anything a
// requester typed. It returns an error wrapping errNoSlackAccount when Slack
// knows no such account or it is deactivated, and another error when Slack
// could not be asked.
func (s *slackAPI) lookupByEmail(ctx context.Context, email string) (*slack.User, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return nil, fmt.Errorf("look up an empty email: %w", errNoSlackAccount)
	}
	var u *slack.User
	err := s.call(ctx, "users.lookupByEmail", func(ctx context.Context) (err error) {
		u, err = s.api.GetUserByEmailContext(ctx, email)
		return err
	})
	switch {
	case slackErr(err, "users_not_found"):
		return nil, fmt.Errorf("%s: %w", email, errNoSlackAccount)
	case err != nil:
		return nil, err
	case u.Deleted:
		return nil, fmt.Errorf("%s: the Slack account %s is: %w", email, u.ID, errDeactivated)
	}
	s.people.put(u)
	return u, nil
}
