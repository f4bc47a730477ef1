package demo

import (
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
)

// Slack's mrkdwn, as the page shows it: *bold*, _italic_, ~strike~, `code`,
// ```code blocks```, > quotes, links <url|text>, mentions <@U…>, channels
// <#C…> and special mentions <!here>. Text arrives with &, < and > escaped
// as Slack wants them; everything is HTML-escaped again before it reaches
// the page.

var (
	angle     = regexp.MustCompile(`<([^<>\n]+)>`)
	codeBlock = regexp.MustCompile("(?s)```(.+?)```")
	codeSpan  = regexp.MustCompile("`([^`\n]+)`")
	holder    = regexp.MustCompile("\x00(\\d+)\x00")
	shortcode = regexp.MustCompile(`:([a-z0-9_+-]+):`)
)

// emoji are the shortcodes Slack draws as pictures, of those the bot uses
// and a few more; others stay as text, as Slack shows an unknown one.
var emoji = map[string]string{
	"white_check_mark": "✅", "x": "❌", "warning": "⚠️", "no_entry": "⛔", "hourglass_flowing_sand": "⏳",
	"hourglass": "⌛", "alarm_clock": "⏰", "gear": "⚙️", "heavy_minus_sign": "➖", "inbox_tray": "📥",
	"leftwards_arrow_with_hook": "↩️", "shield": "🛡️", "wrench": "🔧", "lock": "🔒", "key": "🔑",
	"iphone": "📱", "bell": "🔔", "rotating_light": "🚨", "bust_in_silhouette": "👤", "information_source": "ℹ️",
	"heavy_check_mark": "✔️", "red_circle": "🔴", "large_green_circle": "🟢", "eyes": "👀", "stopwatch": "⏱️",
	"lock_with_ink_pen": "🔏", "closed_lock_with_key": "🔐", "no_entry_sign": "🚫", "question": "❓",
	"identification_card": "🪪", "white_circle": "⚪", "bar_chart": "📊", "memo": "📝", "calendar": "📆", "clipboard": "📋", "mag": "🔍", "sos": "🆘",
}

// unescape undoes Slack's three escapes.
func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// mrkdwn returns s as HTML.
func (r *renderer) mrkdwn(s string) string {
	var parts []string
	keep := func(h string) string {
		parts = append(parts, h)
		return fmt.Sprintf("\x00%d\x00", len(parts)-1)
	}
	s = codeBlock.ReplaceAllStringFunc(s, func(m string) string {
		return keep("<pre>" + html.EscapeString(unescape(strings.Trim(m[3:len(m)-3], "\n"))) + "</pre>")
	})
	s = codeSpan.ReplaceAllStringFunc(s, func(m string) string {
		return keep("<code>" + html.EscapeString(unescape(m[1:len(m)-1])) + "</code>")
	})
	s = angle.ReplaceAllStringFunc(s, func(m string) string { return keep(r.angle(m[1 : len(m)-1])) })
	s = html.EscapeString(unescape(s))
	s = shortcode.ReplaceAllStringFunc(s, func(m string) string {
		if e, ok := emoji[m[1:len(m)-1]]; ok {
			return e
		}
		return m
	})
	s = emphasis(s, '*', "b")
	s = emphasis(s, '_', "i")
	s = emphasis(s, '~', "s")
	lines := strings.Split(s, "\n")
	var b strings.Builder
	for i := 0; i < len(lines); i++ {
		if q, ok := strings.CutPrefix(lines[i], "&gt; "); ok || lines[i] == "&gt;" {
			b.WriteString("<blockquote>" + q)
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "&gt;") {
				i++
				b.WriteString("<br>" + strings.TrimPrefix(strings.TrimPrefix(lines[i], "&gt;"), " "))
			}
			b.WriteString("</blockquote>")
			continue
		}
		if i > 0 && !strings.HasSuffix(b.String(), "</blockquote>") {
			b.WriteString("<br>")
		}
		b.WriteString(lines[i])
	}
	out := b.String()
	for holder.MatchString(out) { // placeholders may nest (a code span in a link label)
		out = holder.ReplaceAllStringFunc(out, func(m string) string {
			var i int
			fmt.Sscanf(m[1:len(m)-1], "%d", &i)
			return parts[i]
		})
	}
	return out
}

// emphasis wraps marker-delimited runs in tag, where the markers stand at
// word boundaries as Slack requires.
func emphasis(s string, marker byte, tag string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != marker || (i > 0 && isWord(s[i-1])) || i+1 >= len(s) || s[i+1] == ' ' || s[i+1] == marker {
			b.WriteByte(s[i])
			continue
		}
		end := -1
		for j := i + 1; j < len(s) && s[j] != '\n'; j++ {
			if s[j] == marker && s[j-1] != ' ' && (j+1 == len(s) || !isWord(s[j+1])) {
				end = j
				break
			}
		}
		if end < 0 {
			b.WriteByte(s[i])
			continue
		}
		b.WriteString("<" + tag + ">" + s[i+1:end] + "</" + tag + ">")
		i = end
	}
	return b.String()
}

func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

// angle renders the inside of <…>: a mention, a channel, a special mention
// or a link.
func (r *renderer) angle(in string) string {
	target, label, _ := strings.Cut(in, "|")
	switch {
	case strings.HasPrefix(target, "@"):
		return `<span class="mention">@` + html.EscapeString(r.name(target[1:])) + `</span>`
	case strings.HasPrefix(target, "#"):
		name := label
		for _, c := range Channels {
			if c.ID == target[1:] {
				name = c.Name
			}
		}
		if name == "" {
			name = target[1:]
		}
		return `<span class="mention">#` + html.EscapeString(unescape(name)) + `</span>`
	case strings.HasPrefix(target, "!"):
		if label != "" {
			return html.EscapeString(unescape(label))
		}
		return `<span class="mention">@` + html.EscapeString(strings.TrimPrefix(target, "!")) + `</span>`
	}
	u, err := url.Parse(unescape(target))
	if label == "" {
		label = target
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "mailto") {
		return html.EscapeString(unescape(label))
	}
	return `<a href="` + html.EscapeString(u.String()) + `" target="_blank" rel="noopener">` +
		html.EscapeString(unescape(label)) + `</a>`
}
