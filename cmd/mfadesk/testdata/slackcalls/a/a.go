package a

import (
	"context"

	"github.com/slack-go/slack"
	slk "github.com/slack-go/slack"
)

type bot struct{ api *slack.Client }

func (b *bot) run(ctx context.Context, c *slk.Client) {
	b.api.PostEphemeralContext(ctx, "C1", "U1")
	_, _ = c.AuthTest()
	b.api.Debugf("x")
	go func() { getClient().UploadFileContext(ctx, slack.UploadFileParameters{}) }()
	slack.New("xoxb")
	slack.GetUserInfo("a package function of that name is not a client call")
}

func getClient() *slack.Client { return nil }
