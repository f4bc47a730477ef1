package digestview

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions/clip"
	"github.com/mfadesk/mfadesk/actions/digest"
)

// Slack's Block Kit limits that the digest must respect.
const (
	maxBlocks      = 50
	maxSectionText = 3000
	maxFieldText   = 2000
	maxFields      = 10
	maxHeaderText  = 150
	maxContextText = 2000
	// maxFallbackText keeps the notification text short.
	maxFallbackText = 300
)

// Blocks renders d as Block Kit within Slack's limits: at most 50 blocks,
// section texts of at most 3000 characters and fields of 2000; long lists
// end with "…and N more".
func Blocks(d digest.Digest) []slack.Block {
	var blocks []slack.Block
	for _, p := range layout(d, mrkdwnStyle{}) {
		switch p.kind {
		case partHeader:
			blocks = append(blocks, slack.NewHeaderBlock(plainText(clip.Runes(p.title, maxHeaderText))))
		case partContext:
			blocks = append(blocks, slack.NewContextBlock("", mrkdwnText(clip.Runes(strings.Join(p.lines, " · "), maxContextText))))
		case partDivider:
			blocks = append(blocks, slack.NewDividerBlock())
		case partCode:
			blocks = append(blocks, slack.NewSectionBlock(mrkdwnText(codeText(p, maxSectionText)), nil, nil))
		case partSection:
			var fields []*slack.TextBlockObject
			for _, f := range p.fields[:min(len(p.fields), maxFields)] {
				fields = append(fields, mrkdwnText(fit(f, maxFieldText, mrkdwnStyle{})))
			}
			var text *slack.TextBlockObject
			if len(p.lines) > 0 || p.title != "" || p.more > 0 {
				text = mrkdwnText(fit(p, maxSectionText, mrkdwnStyle{}))
			}
			blocks = append(blocks, slack.NewSectionBlock(text, fields, nil))
		}
	}
	if len(blocks) > maxBlocks { // cannot happen with today's layout; stay valid if it grows
		blocks = append(blocks[:maxBlocks-1], slack.NewContextBlock("", mrkdwnText("…the rest of the digest did not fit in one message.")))
	}
	return blocks
}

// FallbackText is the message's plain text, shown in notifications.
func FallbackText(d digest.Digest) string {
	t := d.Total()
	s := fmt.Sprintf("%s: %d %s, %d %s, %d refused", layout(d, textStyle{})[0].title, t.Requested, noun(t.Requested, "request made", "requests made"),
		t.Approvals, noun(t.Approvals, "approval", "approvals"), t.Refused)
	if d.NeedsLook() {
		s += "; some things deserve a look"
	}
	return clip.Runes(s, maxFallbackText)
}

func mrkdwnText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plainText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// fit writes a section's title and lines in at most limit characters,
// dropping lines from the end (and counting them as more) when they do not
// fit.
func fit(p part, limit int, st style) string {
	lines := p.lines
	more := p.more
	for {
		var b strings.Builder
		if p.title != "" {
			b.WriteString(st.bold(p.title))
		}
		for _, l := range lines {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			if p.bullets {
				b.WriteString("• ")
			}
			b.WriteString(l)
		}
		if more > 0 {
			fmt.Fprintf(&b, "\n…and %d more", more)
		}
		if s := b.String(); len([]rune(s)) <= limit {
			return s
		}
		if len(lines) == 0 {
			return clip.Runes(b.String(), limit)
		}
		lines = lines[:len(lines)-1]
		more++
	}
}

// codeText writes a table as a code block under its title.
func codeText(p part, limit int) string {
	head := mrkdwnStyle{}.bold(p.title) + "\n```\n"
	lines := p.lines
	for {
		s := head + esc(strings.Join(lines, "\n")) + "\n```"
		if len([]rune(s)) <= limit || len(lines) <= 1 {
			return clip.Runes(s, limit)
		}
		lines = lines[:len(lines)-1]
	}
}
