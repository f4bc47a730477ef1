package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
)

// maxRetryWait is the longest Retry-After the bot waits out; a longer one
// fails the call.
const maxRetryWait = 30 * time.Second

// call runs one Slack Web API call with a timeout per try, retrying a 429
// (slack-go's *slack.RateLimitedError) up to Retries times after the wait
// Slack asked for, as long as ctx leaves time for it. Other errors are not
// retried: the call may have had its effect.
func (b *Bot) call(ctx context.Context, method string, fn func(ctx context.Context) error) error {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
		err := fn(cctx)
		cancel()
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) && attempt < b.cfg.Retries {
			wait := max(rl.RetryAfter, 100*time.Millisecond)
			dl, hasDL := ctx.Deadline()
			if wait <= maxRetryWait && (!hasDL || time.Until(dl) > wait) {
				b.cfg.Metrics.SlackRetry(method, wait)
				b.log.WarnContext(ctx, "slack rate limited: retrying", "method", method, "retry_after", wait, "attempt", attempt+1)
				if actions.SleepContext(ctx, wait) == nil {
					continue
				}
			}
		}
		b.cfg.Metrics.SlackCall(method, errorCode(err), time.Since(start))
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
func (b *Bot) user(ctx context.Context, id string) (*slack.User, error) {
	if u := b.people.get(id); u != nil {
		return u, nil
	}
	var u *slack.User
	err := b.call(ctx, "users.info", func(ctx context.Context) (err error) {
		u, err = b.api.GetUserInfoContext(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	b.people.put(u)
	return u, nil
}

// person returns the Slack user id as the domain sees them: their ID and
// the email on their profile.
func (b *Bot) person(ctx context.Context, id string) (actions.Person, error) {
	u, err := b.user(ctx, id)
	if err != nil {
		return actions.Person{SlackID: id}, fmt.Errorf("look up %s: %w", id, err)
	}
	return actions.Person{SlackID: id, Email: strings.TrimSpace(u.Profile.Email)}, nil
}

// post sends a message to a channel and returns its timestamp.
func (b *Bot) post(ctx context.Context, channel, text string, blocks []slack.Block) (string, error) {
	var ts string
	err := b.call(ctx, "chat.postMessage", func(ctx context.Context) (err error) {
		_, ts, err = b.api.PostMessageContext(ctx, channel,
			slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...), slack.MsgOptionDisableLinkUnfurl())
		return err
	})
	return ts, err
}

// update replaces a message the bot posted.
func (b *Bot) update(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	return b.call(ctx, "chat.update", func(ctx context.Context) error {
		_, _, _, err := b.api.UpdateMessageContext(ctx, channel, ts,
			slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		return err
	})
}

// dm sends user a direct message: conversations.open, then chat.postMessage
// to the IM channel. It returns the channel and timestamp.
func (b *Bot) dm(ctx context.Context, user, text string, blocks []slack.Block) (string, string, error) {
	var ch *slack.Channel
	err := b.call(ctx, "conversations.open", func(ctx context.Context) (err error) {
		ch, _, _, err = b.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
		return err
	})
	if err != nil {
		return "", "", err
	}
	ts, err := b.post(ctx, ch.ID, text, blocks)
	return ch.ID, ts, err
}

// reply tells user something only they see. With a slash command's
// response_url it answers there (which works in any conversation, the bot a
// member or not); otherwise it posts an ephemeral message in channel.
func (b *Bot) reply(ctx context.Context, responseURL, channel, user, text string, blocks []slack.Block) {
	var err error
	if responseURL != "" {
		err = b.call(ctx, "response_url", func(ctx context.Context) error {
			_, _, err := b.api.PostMessageContext(ctx, channel, slack.MsgOptionResponseURL(responseURL, slack.ResponseTypeEphemeral),
				slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
			return err
		})
	} else {
		err = b.call(ctx, "chat.postEphemeral", func(ctx context.Context) error {
			_, err := b.api.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
			return err
		})
	}
	if err != nil {
		b.log.WarnContext(ctx, "private reply failed", "slack_user", user, "channel", channel, "error", err)
	}
}

// replyText is reply with one section of mrkdwn.
func (b *Bot) replyText(ctx context.Context, responseURL, channel, user, text string) {
	b.reply(ctx, responseURL, channel, user, clip(text, maxFallbackText), []slack.Block{section(text)})
}

// parseRef splits a message reference "channel/ts".
func parseRef(ref string) (channel, ts string, ok bool) {
	channel, ts, ok = strings.Cut(ref, "/")
	return channel, ts, ok && channel != "" && ts != ""
}
