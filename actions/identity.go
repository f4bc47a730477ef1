package actions

import "strings"

// People are compared in one place: SamePerson. The README's "Who is who"
// section states the rule.

// SamePerson reports whether a and b are one person: the same Slack user ID,
// the same email (SameEmail), or the same directory user ID. Empty fields
// never match. Requesters, approvers, verifiers, managers and targets are all
// compared with it, so that a second Slack account or an email alias of the
// same directory user counts as that user.
func SamePerson(a, b Person) bool {
	switch {
	case a.SlackID != "" && a.SlackID == b.SlackID:
		return true
	case a.DirectoryID != "" && a.DirectoryID == b.DirectoryID:
		return true
	}
	return SameEmail(a.Email, b.Email)
}

// SameEmail reports whether a and b are the same email address: when both are
// plain ASCII, compared with ASCII-only case folding; otherwise only when they
// are byte for byte equal. Unicode case folding is never used, so that
// "Kate@deſk.example" (long s) is not "kate@desk.example". Empty addresses
// never match.
func SameEmail(a, b string) bool {
	ka, kb := EmailKey(a), EmailKey(b)
	return ka != "" && ka == kb
}

// EmailKey is the form of an email address under which SameEmail compares
// it: trimmed, and lower-cased in A to Z when it is plain ASCII (PlainASCII);
// otherwise left as it is. Two addresses are the same exactly when their
// non-empty keys are equal, so the key may stand for the address (a map key,
// a user ID).
func EmailKey(s string) string {
	s = strings.TrimSpace(s)
	if !PlainASCII(s) {
		return s
	}
	return asciiLower(s)
}

// PlainASCII reports whether s has only printable ASCII characters and no
// space: the only addresses mfadesk folds case in.
func PlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// asciiLower lower-cases A to Z and nothing else.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
