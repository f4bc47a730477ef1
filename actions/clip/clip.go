// Package clip cuts text to a length limit without breaking a character.
// Slack's limits and the database's column sizes count characters (runes),
// so every cut in mfadesk goes through Runes.
package clip

import (
	"strings"
	"unicode/utf8"
)

// Runes returns s cut to at most n runes. A cut text ends in "…" (which
// counts as one of the n), with the spaces and newlines before it dropped.
// n <= 0 gives "".
func Runes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:n-1]), func(c rune) bool { return c == ' ' || c == '\n' }) + "…"
}
