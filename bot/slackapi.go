package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/clip"
	"github.com/mfadesk/mfadesk/bot/blocks"
)

// maxRetryWait is the longest Retry-After the bot waits out; a longer one
// fails the call.
const maxRetryWait = 30 * time.Second

// slackAPI is the Slack Web API as the bot uses it: every call with a
// timeout per try, 429s retried, metrics counted, users.info cached.
type slackAPI struct {
	api     *slack.Client
	metrics Metrics
	log     *slog.Logger
	timeout time.Duration // per try
	retries int           // of a throttled call
	people  *peopleCache
}

func newSlackAPI(api *slack.Client, m Metrics, log *slog.Logger, timeout time.Duration, retries int) *slackAPI {
	return &slackAPI{api: api, metrics: m, log: log, timeout: timeout, retries: retries,
		people: newPeopleCache(30*time.Second, 5000)}
}

// call runs one Slack Web API call with a timeout per try, retrying a 429
// (slack-go's *slack.RateLimitedError) up to retries times after the wait
// Slack asked for, as long as ctx leaves time for it. Other errors are not
// retried: the call may have had its effect.
func (s *slackAPI) call(ctx context.Context, method string, fn func(ctx context.Context) error) error {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		err := fn(cctx)
		cancel()
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) && attempt < s.retries {
			wait := max(rl.RetryAfter, 100*time.Millisecond)
			dl, hasDL := ctx.Deadline()
			if wait <= maxRetryWait && (!hasDL || time.Until(dl) > wait) {
				s.metrics.SlackRetry(method, wait)
				s.log.WarnContext(ctx, "slack rate limited: retrying", "method", method, "retry_after", wait, "attempt", attempt+1)
				if actions.SleepContext(ctx, wait) == nil {
					continue
				}
			}
		}
		s.metrics.SlackCall(method, errorCode(err), time.Since(start))
		if err != nil {
			return fmt.Errorf("slack %s: %w", method, err)
		}
		return nil
	}
}

// errorCode names an error for metrics: Slack's error code where it gave one.
func errorCode(err error) string {
	var rl *slack.RateLimitedError
	var se slack.SlackErrorResponse
	switch {
	case err == nil:
		return ""
	case errors.As(err, &rl):
		return "rate_limited"
	case errors.As(err, &se):
		return se.Err
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}

// slackErr reports whether err is Slack's error code code.
func slackErr(err error, code string) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && se.Err == code
}

// peopleCache keeps users.info answers briefly: a form shown again, a
// second click, a burst of look-ups for one person cost one call.
type peopleCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	limit int
	m     map[string]cachedUser
}

type cachedUser struct {
	u  *slack.User
	at time.Time
}

func newPeopleCache(ttl time.Duration, limit int) *peopleCache {
	return &peopleCache{ttl: ttl, limit: limit, m: map[string]cachedUser{}}
}

func (c *peopleCache) get(id string) *slack.User {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok && time.Since(e.at) < c.ttl {
		return e.u
	}
	return nil
}

func (c *peopleCache) put(u *slack.User) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.limit {
		for k, e := range c.m {
			if time.Since(e.at) >= c.ttl || len(c.m) >= c.limit {
				delete(c.m, k)
			}
		}
	}
	c.m[u.ID] = cachedUser{u: u, at: time.Now()}
}

// user returns users.info for id, from the cache when fresh.
func (s *slackAPI) user(ctx context.Context, id string) (*slack.User, error) {
	if u := s.people.get(id); u != nil {
		return u, nil
	}
	var u *slack.User
	err := s.call(ctx, "users.info", func(ctx context.Context) (err error) {
		u, err = s.api.GetUserInfoContext(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.people.put(u)
	return u, nil
}

// person returns the Slack user id as the domain sees them: their ID and
// the email on their profile.
func (s *slackAPI) person(ctx context.Context, id string) (actions.Person, error) {
	u, err := s.user(ctx, id)
	if err != nil {
		return actions.Person{SlackID: id}, fmt.Errorf("look up %s: %w", id, err)
	}
	return actions.Person{SlackID: id, Email: strings.TrimSpace(u.Profile.Email)}, nil
}

// post sends a message to a channel and returns its timestamp.
func (s *slackAPI) post(ctx context.Context, channel, text string, content []slack.Block) (string, error) {
	var ts string
	err := s.call(ctx, "chat.postMessage", func(ctx context.Context) (err error) {
		_, ts, err = s.api.PostMessageContext(ctx, channel,
			slack.MsgOptionText(text, false), slack.MsgOptionBlocks(content...), slack.MsgOptionDisableLinkUnfurl())
		return err
	})
	return ts, err
}

// update replaces a message the bot posted.
func (s *slackAPI) update(ctx context.Context, channel, ts, text string, content []slack.Block) error {
	return s.call(ctx, "chat.update", func(ctx context.Context) error {
		_, _, _, err := s.api.UpdateMessageContext(ctx, channel, ts,
			slack.MsgOptionText(text, false), slack.MsgOptionBlocks(content...))
		return err
	})
}

// dm sends user a direct message: conversations.open, then chat.postMessage
// to the IM channel. It returns the channel and timestamp.
func (s *slackAPI) dm(ctx context.Context, user, text string, content []slack.Block) (string, string, error) {
	var ch *slack.Channel
	err := s.call(ctx, "conversations.open", func(ctx context.Context) (err error) {
		ch, _, _, err = s.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
		return err
	})
	if err != nil {
		return "", "", err
	}
	ts, err := s.post(ctx, ch.ID, text, content)
	return ch.ID, ts, err
}

// reply tells user something only they see. With a slash command's
// response_url it answers there (which works in any conversation, the bot a
// member or not); otherwise it posts an ephemeral message in channel.
func (s *slackAPI) reply(ctx context.Context, responseURL, channel, user, text string, content []slack.Block) {
	var err error
	if responseURL != "" {
		err = s.call(ctx, "response_url", func(ctx context.Context) error {
			_, _, err := s.api.PostMessageContext(ctx, channel, slack.MsgOptionResponseURL(responseURL, slack.ResponseTypeEphemeral),
				slack.MsgOptionText(text, false), slack.MsgOptionBlocks(content...))
			return err
		})
	} else {
		err = s.call(ctx, "chat.postEphemeral", func(ctx context.Context) error {
			_, err := s.api.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(content...))
			return err
		})
	}
	if err != nil {
		s.log.WarnContext(ctx, "private reply failed", "slack_user", user, "channel", channel, "error", err)
	}
}

// replyText is reply with one section of mrkdwn.
func (s *slackAPI) replyText(ctx context.Context, responseURL, channel, user, text string) {
	s.reply(ctx, responseURL, channel, user, clip.Runes(text, blocks.MaxFallbackText), []slack.Block{blocks.Section(text)})
}

// openView opens a modal on trigger.
func (s *slackAPI) openView(ctx context.Context, trigger string, view slack.ModalViewRequest) error {
	return s.call(ctx, "views.open", func(ctx context.Context) error {
		_, err := s.api.OpenViewContext(ctx, trigger, view)
		return err
	})
}

// updateView replaces the modal viewID.
func (s *slackAPI) updateView(ctx context.Context, viewID string, view slack.ModalViewRequest) error {
	return s.call(ctx, "views.update", func(ctx context.Context) error {
		_, err := s.api.UpdateViewContext(ctx, view, "", "", viewID)
		return err
	})
}

// parseRef splits a message reference "channel/ts".
func parseRef(ref string) (channel, ts string, ok bool) {
	channel, ts, ok = strings.Cut(ref, "/")
	return channel, ts, ok && channel != "" && ts != ""
}
