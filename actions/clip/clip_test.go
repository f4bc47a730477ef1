package clip

import (
	"testing"
	"unicode/utf8"
)

func TestRunes(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"this is longer", 8, "this is…"},
		{"this is longer", 9, "this is…"},
		{"äöüäöüäöü", 4, "äöü…"},
		{"日本語のテキスト", 3, "日本…"},
		{"line\n\nnext", 6, "line…"},
		{"x", 0, ""},
		{"x", -1, ""},
		{"", 5, ""},
	} {
		got := Runes(c.in, c.n)
		if got != c.want {
			t.Errorf("Runes(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
		if !utf8.ValidString(got) || (c.n > 0 && utf8.RuneCountInString(got) > c.n) {
			t.Errorf("Runes(%q, %d) = %q: not valid UTF-8 within %d runes", c.in, c.n, got, c.n)
		}
	}
}
