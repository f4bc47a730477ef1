package blocks

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Slack's size limits that rendering keeps to. Text beyond them is cut with
// an ellipsis; lists beyond them are summarised. MaxFallbackText bounds a
// message's notification text, MaxFieldErrors one input's error in a modal.
const (
	maxSectionText   = 3000
	maxHeaderText    = 150
	maxButtonText    = 75
	maxOptionText    = 75
	maxContextText   = 2000
	maxFieldText     = 2000
	maxViewTitle     = 24
	maxPlaceholder   = 150
	MaxFallbackText  = 3000
	MaxFieldErrors   = 500
	maxMessageBlocks = 50
	maxModalBlocks   = 100
	maxMetadata      = 3000
)

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Esc makes user-typed text safe inside mrkdwn: Slack reads <…> as links and
// mentions (<!channel>) and & as the start of an entity.
func Esc(s string) string { return mrkdwnEscaper.Replace(s) }

// oneLine folds whitespace runs, newlines included, into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Sentence capitalises the first letter of s and ends it with a period.
func Sentence(s string) string {
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

// Plural returns "1 user" or "3 users".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
