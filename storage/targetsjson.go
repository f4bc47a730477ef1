package storage

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/mfadesk/mfadesk/actions"
)

// decodeTargets decodes the targets column. `audit verify` reads it for every
// event of the log, so the form newEventRow writes (json.Marshal's, with no
// escapes in the values) is read by hand; anything else goes through
// encoding/json, which the fast path must agree with (a fuzz test holds it to
// that).
func decodeTargets(s string) ([]actions.TargetRef, error) {
	if out, ok := scanTargets(s); ok {
		return out, nil
	}
	var out []actions.TargetRef
	err := json.Unmarshal([]byte(s), &out)
	return out, err
}

// decodeTarget decodes the target column; see decodeTargets.
func decodeTarget(s string) (*actions.TargetRef, error) {
	t := new(actions.TargetRef)
	if rest, ok := scanTargetRef(s, t); ok && rest == "" {
		return t, nil
	}
	*t = actions.TargetRef{}
	err := json.Unmarshal([]byte(s), t)
	return t, err
}

// scanTargets reads `[` ref (`,` ref)* `]` or `null`; ok is false for any
// other form.
func scanTargets(s string) ([]actions.TargetRef, bool) {
	if s == "null" {
		return nil, true
	}
	if len(s) < 2 || s[0] != '[' {
		return nil, false
	}
	s = s[1:]
	out := make([]actions.TargetRef, 0, 1+strings.Count(s, "},{"))
	if s == "]" {
		return out, true
	}
	for {
		var t actions.TargetRef
		rest, ok := scanTargetRef(s, &t)
		if !ok || rest == "" {
			return nil, false
		}
		out = append(out, t)
		switch {
		case rest == "]":
			return out, true
		case rest[0] == ',':
			s = rest[1:]
		default:
			return nil, false
		}
	}
}

// scanTargetRef reads one object of plain string members at the start of s
// into t and returns what follows it. ok is false when the object uses
// anything the fast path leaves to encoding/json: white space, escapes,
// control characters, invalid UTF-8, other keys or other value types.
func scanTargetRef(s string, t *actions.TargetRef) (rest string, ok bool) {
	if s == "" || s[0] != '{' {
		return "", false
	}
	s = s[1:]
	if s != "" && s[0] == '}' {
		return s[1:], true
	}
	for {
		key, r, ok := scanPlainString(s)
		if !ok || r == "" || r[0] != ':' {
			return "", false
		}
		val, r, ok := scanPlainString(r[1:])
		if !ok || r == "" {
			return "", false
		}
		switch key {
		case "slack_id":
			t.SlackID = val
		case "email":
			t.Email = val
		case "directory_id":
			t.DirectoryID = val
		default:
			return "", false
		}
		switch r[0] {
		case '}':
			return r[1:], true
		case ',':
			s = r[1:]
		default:
			return "", false
		}
	}
}

// scanPlainString reads a JSON string with no escapes and no control
// characters, made of valid UTF-8, from the start of s.
func scanPlainString(s string) (val, rest string, ok bool) {
	if s == "" || s[0] != '"' {
		return "", "", false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			val = s[1:i]
			if !utf8.ValidString(val) {
				return "", "", false
			}
			return val, s[i+1:], true
		case c == '\\' || c < 0x20:
			return "", "", false
		}
	}
	return "", "", false
}
