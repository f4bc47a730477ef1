package digestview

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions/digest"
)

// SlackAPI is the part of slack-go's *slack.Client the Poster calls.
type SlackAPI interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	// UploadFileContext is slack-go's file upload v2:
	// files.getUploadURLExternal, the upload, files.completeUploadExternal.
	UploadFileContext(ctx context.Context, params slack.UploadFileParameters) (*slack.FileSummary, error)
}

var _ SlackAPI = (*slack.Client)(nil)

// Poster posts digests to one Slack channel. It implements
// digest.Publisher.
type Poster struct {
	api     SlackAPI
	channel string
	// rateLimitRetries is how often a rate-limited post is tried again
	// (a 429 means Slack did not take it).
	rateLimitRetries int
}

var _ digest.Publisher = (*Poster)(nil)

// NewPoster returns a Poster to channel, a channel ID.
func NewPoster(api SlackAPI, channel string) *Poster {
	return &Poster{api: api, channel: channel, rateLimitRetries: 2}
}

// Publish posts d's blocks as one chat.postMessage. An error means Slack did
// not accept it, or that the answer was lost: a timeout after Slack took
// the message looks the same.
func (p *Poster) Publish(ctx context.Context, d digest.Digest) (digest.Receipt, error) {
	opts := []slack.MsgOption{
		slack.MsgOptionText(FallbackText(d), false),
		slack.MsgOptionBlocks(Blocks(d)...),
		slack.MsgOptionDisableLinkUnfurl(),
	}
	for attempt := 0; ; attempt++ {
		ch, ts, err := p.api.PostMessageContext(ctx, p.channel, opts...)
		if err == nil {
			return digest.Receipt{Channel: ch, TS: ts}, nil
		}
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || attempt >= p.rateLimitRetries {
			return digest.Receipt{}, fmt.Errorf("chat.postMessage: %w", err)
		}
		select {
		case <-ctx.Done():
			return digest.Receipt{}, fmt.Errorf("chat.postMessage: rate limited, then %w", ctx.Err())
		case <-time.After(rl.RetryAfter):
		}
	}
}

// Attach uploads d's chart into the digest message's thread with slack-go's
// file upload v2 (files.getUploadURLExternal, the upload,
// files.completeUploadExternal with channel_id and thread_ts). The message
// goes first so that the digest itself, which the ledger records, never
// waits for the chart. A period without requests has no chart: nothing is
// uploaded.
func (p *Poster) Attach(ctx context.Context, d digest.Digest, r digest.Receipt) error {
	png, err := Chart(d)
	if errors.Is(err, ErrNoChart) {
		return nil
	}
	if err != nil {
		return err
	}
	loc := d.Hours.Loc()
	if d.Location != nil {
		loc = d.Location
	}
	name := fmt.Sprintf("mfadesk-digest-%s.png", d.Period.End.In(loc).Format("2006-01-02"))
	_, err = p.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Reader: bytes.NewReader(png), FileSize: len(png), Filename: name,
		Title:   "Requests per day, by action",
		AltTxt:  fmt.Sprintf("Bar chart of requests per day by action, %s to %s", d.Period.Start.In(loc).Format("2 Jan"), d.Period.End.In(loc).Format("2 Jan 2006")),
		Channel: r.Channel, ThreadTimestamp: r.TS,
	})
	if err != nil {
		return fmt.Errorf("upload digest chart: %w", err)
	}
	return nil
}
