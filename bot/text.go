package bot

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Slack's size limits that rendering keeps to. Text beyond them is cut with
// an ellipsis; lists beyond them are summarised.
const (
	maxSectionText   = 3000
	maxHeaderText    = 150
	maxButtonText    = 75
	maxOptionText    = 75
	maxContextText   = 2000
	maxFieldText     = 2000
	maxViewTitle     = 24
	maxPlaceholder   = 150
	maxFallbackText  = 3000
	maxFieldErrors   = 500
	maxMessageBlocks = 50
	maxModalBlocks   = 100
	maxMetadata      = 3000
)

// clip returns s cut to at most n characters (runes), ending in "…" when cut.
func clip(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:n-1]), func(c rune) bool { return c == ' ' || c == '\n' }) + "…"
}

// esc makes user-typed text safe inside mrkdwn: Slack reads <…> as links and
// mentions (<!channel>) and & as the start of an entity.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func esc(s string) string { return mrkdwnEscaper.Replace(s) }

// oneLine folds whitespace runs, newlines included, into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// sentence capitalises the first letter of s and ends it with a period.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = strings.ToUpper(string(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "!") && !strings.HasSuffix(s, "?") {
		s += "."
	}
	return s
}

// plural returns "1 user" or "3 users".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
